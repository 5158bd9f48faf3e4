// Command schedwait reads a Go execution trace (the edge's admin /debug/pprof/trace, or
// go test -trace) and prints where goroutines waited: how long each stayed runnable before
// it ran (the scheduler's queueing), how long it ran, how long Ps sat idle, how much of the
// time a P was idle while goroutines were runnable, and how often a goroutine resumed on
// another P. docs/BENCHMARKS.md section 1 uses it to find where the saturated hit p99 comes
// from:
//
//	curl -s -o trace.out 'http://ADMIN/debug/pprof/trace?seconds=2'   # during a wrk run
//	go run ./bench/cmd/schedwait trace.out
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: schedwait TRACE-FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedwait:", err)
		os.Exit(1)
	}
	defer f.Close()
	st, err := analyze(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedwait:", err)
		os.Exit(1)
	}
	st.print(os.Stdout)
}

// stats is what one trace says about scheduling.
type stats struct {
	runnable, running, idle []time.Duration // runnable->running waits, running spans, P idle gaps
	starved                 time.Duration   // wall time with a P idle and a goroutine runnable
	resumes, migrations     int             // goroutine starts, and those on another P than its last
}

func analyze(r io.Reader) (*stats, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	st := &stats{}
	runnableAt := map[trace.GoID]trace.Time{}
	runningAt := map[trace.GoID]trace.Time{}
	lastP := map[trace.GoID]trace.ProcID{}
	idleAt := map[trace.ProcID]trace.Time{}
	var last trace.Time
	var idleP, nRunnable int
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		if last != 0 && idleP > 0 && nRunnable > 0 {
			st.starved += ev.Time().Sub(last)
		}
		last = ev.Time()
		tr := ev.StateTransition()
		switch tr.Resource.Kind {
		case trace.ResourceGoroutine:
			id := tr.Resource.Goroutine()
			from, to := tr.Goroutine()
			if to == trace.GoRunnable && from != trace.GoRunnable {
				nRunnable++
				runnableAt[id] = ev.Time()
			}
			if from == trace.GoRunnable && to != trace.GoRunnable {
				nRunnable = max(nRunnable-1, 0)
			}
			if to == trace.GoRunning && from != trace.GoRunning {
				if t, ok := runnableAt[id]; ok && from == trace.GoRunnable {
					st.runnable = append(st.runnable, ev.Time().Sub(t))
				}
				delete(runnableAt, id)
				runningAt[id] = ev.Time()
				if p, ok := lastP[id]; ok {
					st.resumes++
					if p != ev.Proc() {
						st.migrations++
					}
				}
				lastP[id] = ev.Proc()
			}
			if from == trace.GoRunning && to != trace.GoRunning {
				if t, ok := runningAt[id]; ok {
					st.running = append(st.running, ev.Time().Sub(t))
					delete(runningAt, id)
				}
			}
		case trace.ResourceProc:
			id := tr.Resource.Proc()
			from, to := tr.Proc()
			if to == trace.ProcIdle && from != trace.ProcIdle {
				idleP++
				idleAt[id] = ev.Time()
			}
			if from == trace.ProcIdle && to != trace.ProcIdle {
				idleP = max(idleP-1, 0)
				if t, ok := idleAt[id]; ok {
					st.idle = append(st.idle, ev.Time().Sub(t))
				}
			}
		}
	}
	return st, nil
}

func (st *stats) print(w io.Writer) {
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"runnable wait", st.runnable}, {"running span", st.running}, {"P idle gap", st.idle}} {
		fmt.Fprintf(w, "%-14s %s\n", s.name, summary(s.d))
	}
	fmt.Fprintf(w, "P idle while goroutines runnable: %v\n", st.starved)
	fmt.Fprintf(w, "goroutine starts %d, on another P than the last %d\n", st.resumes, st.migrations)
}

// summary is n, p50, p90, p99, p99.9, max and the sum of d (sorted in place).
func summary(d []time.Duration) string {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	q := func(p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[int(float64(len(d)-1)*p)]
	}
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v p99.9=%v max=%v sum=%v", len(d), q(.5), q(.9), q(.99), q(.999), q(1), sum)
}
