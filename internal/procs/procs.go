// Package procs sizes GOMAXPROCS to the CPUs the process really gets.
//
// The runtime keeps runnable goroutines in per-P queues. When the machine's other work (a
// load generator, the image workers' libvips threads, a neighbour) keeps the CPUs busy, the
// kernel deschedules an M that holds a P, and every goroutine queued on that P waits for the
// M's next time slice: on a 2-core machine shared with wrk, hits with GOMAXPROCS=2 waited up
// to 10 ms in a run queue (p99 5 ms) against 1.1 ms with GOMAXPROCS=1 (docs/BENCHMARKS.md
// section 2). Go already lowers GOMAXPROCS to a cgroup's CPU limit; this does the same for a
// limit that comes from contention: it lowers the P count while the process's own threads
// wait in the kernel's run queue, and raises it again while the machine has a CPU to spare.
package procs

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// Sample is what one interval measured, each in CPUs (seconds per second).
type Sample struct {
	Wait float64 // the process's threads runnable but not running (kernel run-queue delay)
	Idle float64 // the machine's idle CPUs
}

// Thresholds of the decision; see Decider.Next.
const (
	waitPerP   = 0.25 // lower when the threads' run-queue wait reaches this many CPUs per P
	idleToRise = 1.0  // raise when the machine has at least one idle CPU ...
	idleRounds = 3    // ... for this many intervals in a row
)

// Decider holds the state between intervals: how long the machine has had a CPU to spare.
type Decider struct {
	Max   int // the most Ps to use (GOMAXPROCS at start: the CPUs of the affinity mask or cgroup)
	spare int
}

// Next returns the P count for the next interval, given the current one and what the last
// interval measured. It moves by one P at a time: lower at once when the threads wait for
// CPU (more Ps than CPUs the kernel gives the process), raise only after the machine had an
// idle CPU for idleRounds intervals (a load that stops for a moment must not flap the count).
func (d *Decider) Next(p int, s Sample) int {
	if s.Idle >= idleToRise && s.Wait < waitPerP*float64(p) {
		d.spare++
	} else {
		d.spare = 0
	}
	switch {
	case p > 1 && s.Wait >= waitPerP*float64(p) && s.Idle < idleToRise:
		d.spare = 0
		return p - 1
	case p < d.Max && d.spare >= idleRounds:
		d.spare = 0
		return p + 1
	}
	return p
}

// Config runs a Controller.
type Config struct {
	Interval time.Duration // 1s
	Logger   *slog.Logger
	// Sampler measures one interval; nil reads /proc (Linux; elsewhere the controller does
	// not start). Set takes the new count; nil is runtime.GOMAXPROCS. Both are for tests.
	Sampler func() (Sample, bool)
	Set     func(int)
	Max     int // 0: GOMAXPROCS at start
}

// Start adjusts GOMAXPROCS every interval until ctx ends, and returns at once. It reports
// false, and does nothing, where the process's CPU accounting cannot be read.
func Start(ctx context.Context, c Config) bool {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Max <= 0 {
		c.Max = runtime.GOMAXPROCS(0)
	}
	p := c.Max
	if c.Set == nil {
		c.Set = func(n int) { runtime.GOMAXPROCS(n) }
	}
	if c.Sampler == nil {
		sm, err := newProcSampler()
		if err != nil {
			c.Logger.Info("adaptive GOMAXPROCS off", "reason", err)
			return false
		}
		c.Sampler = sm.sample
	}
	c.Sampler() // the first sample only sets the baseline
	d := &Decider{Max: c.Max}
	go func() {
		t := time.NewTicker(c.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, ok := c.Sampler()
			if !ok {
				continue
			}
			if n := d.Next(p, s); n != p {
				c.Logger.Info("GOMAXPROCS changed", "from", p, "to", n, "run_queue_wait_cpus", round2(s.Wait), "idle_cpus", round2(s.Idle))
				p = n
				c.Set(n)
			}
		}
	}()
	return true
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
