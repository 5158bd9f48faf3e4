package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
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
	st, err := children.Run(name, cmd, limit)
	if st == nil {
		return 0, err
	}
	cpu := st.UserTime() + st.SystemTime()
	if err != nil {
		data, _ := os.ReadFile(outPath)
		return cpu, fmt.Errorf("%w (output in %s)\n%s", err, outPath, tail(data, 2000))
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

func numCPU() int { return runtime.NumCPU() }

// startCPU opens a CPU window over one measure: the server's CPU, and how busy the rest of the
// machine was (procstat.Window).
var startCPU = procstat.StartWindow

// The CPU and machine readers every benchmark program shares.
var (
	cpuOf   = procstat.CPU
	selfCPU = procstat.SelfCPU
	loadAvg = procstat.LoadAvg
)
