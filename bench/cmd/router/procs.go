package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/pixcdnbin"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// proc is one child process this program started: a server (the router, nginx) or a bounded
// tool run (dnsperf, wrk, go test); bench/internal/children keeps them all.
type proc = children.Proc

var (
	stopProcs    = children.Stop
	stopAllProcs = children.StopAll
)

// startServer starts bin with args, its output to logPath.
func startServer(name, logPath, bin string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := children.Start(name, cmd, nil)
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
	p, err := children.Start(name, cmd, nil)
	if err != nil {
		return 0, err
	}
	select {
	case <-p.Done:
		children.Forget(p)
	case <-time.After(limit):
		stopProcs([]*proc{p})
		return 0, fmt.Errorf("%s did not finish within %v (stopped; output in %s)", name, limit, outPath)
	}
	cpu := p.State.UserTime() + p.State.SystemTime()
	if !p.State.Success() {
		data, _ := os.ReadFile(outPath)
		return cpu, fmt.Errorf("%s: %s\n%s", name, p.State, tail(data, 2000))
	}
	return cpu, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// moduleRoot and buildPixcdn find and build the module this program runs in.
var (
	moduleRoot  = pixcdnbin.ModuleRoot
	buildPixcdn = pixcdnbin.Build
)

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
