package procstat

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// TreeCPU is the CPU of pid and of its direct children (nginx's master and its workers).
func TreeCPU(pid int) time.Duration {
	t := CPU(pid)
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(data)) {
		if c, err := strconv.Atoi(f); err == nil {
			t += CPU(c)
		}
	}
	return t
}

// Window is the CPU used over one measure: by the server measured, by this process, and by
// the whole machine, which other engineers' builds and tests share.
type Window struct {
	server    func() time.Duration
	srv, self time.Duration
	busy      time.Duration
	at        time.Time
}

// StartWindow opens a window; server reads the measured server's CPU so far (CPU or TreeCPU of
// its PID).
func StartWindow(server func() time.Duration) Window {
	return Window{server: server, srv: server(), self: SelfCPU(), busy: MachineBusy(), at: time.Now()}
}

// End returns the server's CPU since the start and the share of the machine's capacity (every
// CPU) used by processes other than the server, this process and the load tool (whose CPU is
// given), in percent: the disturbance of the measure.
func (w Window) End(tool time.Duration) (server time.Duration, otherPct float64) {
	server = w.server() - w.srv
	self := SelfCPU() - w.self
	other := MachineBusy() - w.busy - server - self - tool
	capacity := time.Since(w.at) * time.Duration(runtime.NumCPU())
	return server, max(0, 100*float64(other)/float64(capacity))
}
