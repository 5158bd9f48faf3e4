package main

import (
	"bytes"
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

// cpuOf is the user+system CPU a running process has used so far (/proc/PID/stat, in clock
// ticks of 10 ms: Linux's USER_HZ is 100).
func cpuOf(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func cpuOfProcs(ps []*proc) time.Duration {
	var t time.Duration
	for _, p := range ps {
		t += cpuOf(p.cmd.Process.Pid)
	}
	return t
}

// selfCPU is this process's user+system CPU: the control plane, its NATS server and the
// clients.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func numCPU() int { return runtime.NumCPU() }

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// machineBusy is the CPU time all CPUs have spent busy since boot (/proc/stat: everything but
// idle and iowait), in USER_HZ ticks of 10 ms.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest time is counted in user already
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

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
