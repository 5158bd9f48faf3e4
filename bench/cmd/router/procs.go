package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// proc is one child process this program started: a server (the router, nginx) or a bounded
// tool run (dnsperf, wrk, go test).
type proc struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{} // closed once it has exited
	state *os.ProcessState
}

// procs are every child still running: stopAllProcs ends them on every way out.
var procs struct {
	sync.Mutex
	m       map[*proc]bool
	stopped bool // stopAllProcs ran: nothing more may start
}

// start starts cmd; the kernel sends it SIGTERM if this process dies without stopping it
// (Pdeathsig).
func start(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// Under the lock, so that an interrupt's stopAllProcs sees every process started.
	procs.Lock()
	defer procs.Unlock()
	if procs.stopped {
		return nil, fmt.Errorf("%s: stopping", name)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	if procs.m == nil {
		procs.m = map[*proc]bool{}
	}
	procs.m[p] = true
	return p, nil
}

// startServer starts bin with args, its output to logPath.
func startServer(name, logPath, bin string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := start(name, cmd)
	lf.Close() // the child holds its own descriptor
	return p, err
}

// runTool runs a bounded tool to completion (at most limit, then SIGTERM and SIGKILL), its
// stdout to outPath and stderr appended to it, and returns its CPU (user+system).
func runTool(limit time.Duration, name, outPath string, env []string, dir, bin string, args ...string) (time.Duration, error) {
	out, err := os.Create(outPath)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = out, out, dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	p, err := start(name, cmd)
	if err != nil {
		return 0, err
	}
	select {
	case <-p.done:
		forget(p)
	case <-time.After(limit):
		stopProcs([]*proc{p})
		return 0, fmt.Errorf("%s did not finish within %v (stopped; output in %s)", name, limit, outPath)
	}
	cpu := p.state.UserTime() + p.state.SystemTime()
	if !p.state.Success() {
		data, _ := os.ReadFile(outPath)
		return cpu, fmt.Errorf("%s: %s\n%s", name, p.state, tail(data, 2000))
	}
	return cpu, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func forget(p *proc) {
	procs.Lock()
	delete(procs.m, p)
	procs.Unlock()
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stopProcs sends SIGTERM to each, then SIGKILL to those still running after 5 s.
func stopProcs(ps []*proc) {
	for _, p := range ps {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range ps {
		select {
		case <-p.done:
		case <-deadline:
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	for _, p := range ps {
		forget(p)
	}
}

func stopAllProcs() {
	procs.Lock()
	procs.stopped = true
	var ps []*proc
	for p := range procs.m {
		ps = append(ps, p)
	}
	procs.Unlock()
	if len(ps) > 0 {
		stopProcs(ps)
	}
}

// moduleRoot is the directory of the pixcdn module this program runs in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the pixcdn module: run from the repository (or give -bin and -part without decide)")
	}
	return filepath.Dir(mod), nil
}

// buildPixcdn builds ./cmd/pixcdn of the module this program runs in.
func buildPixcdn(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pixcdn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pixcdn")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pixcdn: %v\n%s", err, out)
	}
	return bin, nil
}

// treeCPU is the CPU of pid and its direct children (nginx's master and workers).
func treeCPU(pid int) time.Duration {
	t := cpuOf(pid)
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(data)) {
		if c, err := strconv.Atoi(f); err == nil {
			t += cpuOf(c)
		}
	}
	return t
}

func numCPU() int { return runtime.NumCPU() }

// cpuWindow is the CPU used over a measure: the server measured, this process, and everything
// on the machine (other engineers' builds and tests share these cores).
type cpuWindow struct {
	server    func() time.Duration
	srv, self time.Duration
	busy      time.Duration
	at        time.Time
}

func startCPU(server func() time.Duration) cpuWindow {
	return cpuWindow{server: server, srv: server(), self: selfCPU(), busy: machineBusy(), at: time.Now()}
}

// end returns the server's CPU since start and the share of the machine's capacity used by
// processes other than the server, this process and the load tool (its CPU given), in percent.
func (w cpuWindow) end(tool time.Duration) (server time.Duration, otherPct float64) {
	server = w.server() - w.srv
	self := selfCPU() - w.self
	other := machineBusy() - w.busy - server - self - tool
	capacity := time.Since(w.at) * time.Duration(numCPU())
	return server, max(0, 100*float64(other)/float64(capacity))
}

// The CPU and machine readers every benchmark program shares.
var (
	cpuOf       = procstat.CPU
	selfCPU     = procstat.SelfCPU
	loadAvg     = procstat.LoadAvg
	machineBusy = procstat.MachineBusy
)
