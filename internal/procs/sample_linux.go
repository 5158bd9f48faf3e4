package procs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// procSampler reads the run-queue delay of every thread of the process
// (/proc/self/task/*/schedstat, the second field, in nanoseconds) and the machine's idle
// time (/proc/stat: idle + iowait, in USER_HZ ticks) and turns their growth since the last
// call into CPUs.
type procSampler struct {
	last     time.Time
	wait     map[string]uint64 // per thread: a thread that exits must not make the sum go back
	idle     uint64
	tick     float64 // seconds per USER_HZ tick
	buf      []byte
	haveIdle bool
}

func newProcSampler() (*procSampler, error) {
	if _, err := os.ReadFile("/proc/self/schedstat"); err != nil {
		return nil, errors.New("no /proc/self/schedstat (kernel without CONFIG_SCHED_INFO?)")
	}
	if _, err := os.ReadFile("/proc/stat"); err != nil {
		return nil, err
	}
	return &procSampler{wait: map[string]uint64{}, tick: 0.01}, nil // USER_HZ is 100 on every Linux ABI Go supports
}

func (s *procSampler) sample() (Sample, bool) {
	now := time.Now()
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var waitNS uint64
	seen := make(map[string]uint64, len(tasks))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited
		}
		w, ok := field(b, 1)
		if !ok {
			continue
		}
		seen[t] = w
		if prev, ok := s.wait[t]; ok && w >= prev {
			waitNS += w - prev
		} else if !ok && !s.last.IsZero() {
			waitNS += w // a thread started in the interval
		}
	}
	s.wait = seen
	idle, okIdle := readIdle()
	elapsed := now.Sub(s.last).Seconds()
	first := s.last.IsZero() || !s.haveIdle
	s.last = now
	prevIdle := s.idle
	s.idle, s.haveIdle = idle, okIdle
	if first || !okIdle || elapsed <= 0 || idle < prevIdle {
		return Sample{}, false
	}
	return Sample{
		Wait: float64(waitNS) / 1e9 / elapsed,
		Idle: float64(idle-prevIdle) * s.tick / elapsed,
	}, true
}

// readIdle is idle + iowait of the machine's "cpu" line in /proc/stat, in ticks.
func readIdle() (uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	if !bytes.HasPrefix(line, []byte("cpu ")) {
		return 0, false
	}
	idle, ok1 := field(line, 4)
	iowait, ok2 := field(line, 5)
	return idle + iowait, ok1 && ok2
}

// field parses the i-th space-separated field of b as an unsigned integer.
func field(b []byte, i int) (uint64, bool) {
	f := bytes.Fields(b)
	if i >= len(f) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[i]), 10, 64)
	return v, err == nil
}
