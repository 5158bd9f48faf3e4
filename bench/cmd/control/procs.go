package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// proc is one child process this program started.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
	log  *os.File
}

// procs are every child still running: stopAllProcs ends them on every way out.
var procs struct {
	sync.Mutex
	m       map[*proc]bool
	stopped bool // stopAllProcs ran: nothing more may start
}

// startProc starts bin with args, its output to logPath; the kernel sends it SIGTERM if this
// process dies without stopping it (Pdeathsig).
func startProc(name, bin, logPath string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// Under the lock, so that an interrupt's stopAllProcs sees every process started.
	procs.Lock()
	defer procs.Unlock()
	if procs.stopped {
		lf.Close()
		return nil, fmt.Errorf("%s: stopping", name)
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: lf}
	go func() {
		cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	if procs.m == nil {
		procs.m = map[*proc]bool{}
	}
	procs.m[p] = true
	return p, nil
}

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
	procs.Lock()
	for _, p := range ps {
		delete(procs.m, p)
	}
	procs.Unlock()
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

// buildPixcdn builds ./cmd/pixcdn of the module this program runs in.
func buildPixcdn(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", errors.New("not inside the pixcdn module: run from the repository (or give -bin)")
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "pixcdn")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/pixcdn")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pixcdn: %v\n%s", err, out)
	}
	return bin, nil
}

func cpuOfProcs(ps []*proc) time.Duration {
	var t time.Duration
	for _, p := range ps {
		t += cpuOf(p.cmd.Process.Pid)
	}
	return t
}

func numCPU() int { return runtime.NumCPU() }

// cpuWindow is the CPU used over a measure: this process, the children given, and everything
// else on the machine (other engineers' builds and tests share these cores).
type cpuWindow struct {
	self, kids, busy time.Duration
	at               time.Time
}

func startCPU(kids []*proc) cpuWindow {
	return cpuWindow{self: selfCPU(), kids: cpuOfProcs(kids), busy: machineBusy(), at: time.Now()}
}

// end returns this process's and the children's CPU since start, and the share of the
// machine's capacity used by other processes meanwhile, in percent.
func (w cpuWindow) end(kids []*proc) (self, children time.Duration, otherPct float64) {
	self, children = selfCPU()-w.self, cpuOfProcs(kids)-w.kids
	other := machineBusy() - w.busy - self - children
	capacity := time.Since(w.at) * time.Duration(numCPU())
	return self, children, max(0, 100*float64(other)/float64(capacity))
}

// The CPU and machine readers every benchmark program shares.
var (
	cpuOf       = procstat.CPU
	selfCPU     = procstat.SelfCPU
	loadAvg     = procstat.LoadAvg
	machineBusy = procstat.MachineBusy
)
