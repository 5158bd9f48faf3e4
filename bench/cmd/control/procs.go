package main

import (
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/pixcdnbin"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// proc is one child process this program started (bench/internal/children keeps them all).
type proc = children.Proc

// startProc starts bin with args, its output to logPath.
func startProc(name, bin, logPath string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := children.Start(name, cmd, lf)
	if err != nil {
		lf.Close()
	}
	return p, err
}

var (
	stopProcs    = children.Stop
	stopAllProcs = children.StopAll
)

// buildPixcdn builds ./cmd/pixcdn of the module this program runs in.
var buildPixcdn = pixcdnbin.Build

func cpuOfProcs(ps []*proc) time.Duration {
	var t time.Duration
	for _, p := range ps {
		t += cpuOf(p.Pid())
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
