// Command rss measures a cache server's resident memory while it serves a working set larger
// than its memory tier: a first pass fills the cache (and its disk tier), then random requests
// run for a fixed time while VmRSS and VmHWM of the server process are sampled from /proc.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("rss", flag.ContinueOnError)
	fs.StringVar(&cfg.Target, "url", "", "base `URL` of the cache under test")
	fs.IntVar(&cfg.PID, "pid", 0, "process id of the cache server")
	fs.IntVar(&cfg.Objects, "objects", cfg.Objects, "distinct objects")
	fs.StringVar(&cfg.Prefix, "prefix", cfg.Prefix, "object path prefix")
	fs.Int64Var(&cfg.Size, "size", cfg.Size, "expected body `bytes` (0: any)")
	fs.IntVar(&cfg.FillConns, "fill-conns", cfg.FillConns, "concurrency of the fill pass")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "concurrency of the random phase")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the random phase")
	fs.DurationVar(&cfg.Sample, "sample", cfg.Sample, "memory sampling interval")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the random order")
	fs.Int64Var(&cfg.MemTier, "mem-tier", cfg.MemTier, "the server's memory tier `bytes`, for the target line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	rep, err := Measure(context.Background(), cfg)
	if err != nil {
		return err
	}
	rep.Write(out)
	return nil
}

// point is one memory sample, at a time since the random phase began.
type point struct {
	at  time.Duration
	mem procstat.Mem
}

// Report is what a measurement saw.
type Report struct {
	cfg                Config
	before, afterFill  procstat.Mem
	samples            []point
	end                procstat.Mem
	fill, load         *Load
	fillTook, loadTook time.Duration
}

// Measure runs the fill pass, then the random phase with the sampler beside it.
func Measure(ctx context.Context, cfg Config) (*Report, error) {
	r := &Report{cfg: cfg}
	var err error
	if r.before, err = procstat.Read(cfg.ProcDir, cfg.PID); err != nil {
		return nil, err
	}
	f := newFetcher(cfg)
	t0 := time.Now()
	r.fill, r.fillTook = f.fill(ctx), time.Since(t0)
	if r.afterFill, err = procstat.Read(cfg.ProcDir, cfg.PID); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	sampled := make(chan []point)
	go func() { sampled <- sample(lctx, cfg) }()
	t0 = time.Now()
	r.load = f.random(lctx)
	r.loadTook = time.Since(t0)
	r.samples = <-sampled
	if r.end, err = procstat.Read(cfg.ProcDir, cfg.PID); err != nil {
		return nil, err
	}
	return r, nil
}

// sample reads the server's memory every cfg.Sample until ctx ends. A failed read (the server
// died) ends sampling; Measure's final read reports the error.
func sample(ctx context.Context, cfg Config) []point {
	t := time.NewTicker(cfg.Sample)
	defer t.Stop()
	start := time.Now()
	var ps []point
	for {
		select {
		case <-ctx.Done():
			return ps
		case now := <-t.C:
			m, err := procstat.Read(cfg.ProcDir, cfg.PID)
			if err != nil {
				return ps
			}
			ps = append(ps, point{at: now.Sub(start), mem: m})
		}
	}
}
