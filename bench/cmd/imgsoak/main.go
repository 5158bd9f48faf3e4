// Command imgsoak holds an image edge under a mixed transform load for a fixed time while it
// samples the edge process's resident memory, so bench/run.sh images can show whether RSS stays
// flat when every request decodes, resizes and encodes (sources sent with no-store).
//
// It requests the paths of a file (one path with its query per line) round-robin over -c
// keep-alive connections, reads every body to the end, and counts answers by status. VmRSS is
// read from /proc/PID/status at the start, every -interval and at the end; VmHWM (the kernel's
// own peak) at the end. It prints a markdown table of the samples and one RESULT line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imgsoak:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("imgsoak", flag.ContinueOnError)
	fs.StringVar(&cfg.Base, "url", "", "base `URL` of the edge")
	pathsFile := fs.String("paths", "", "`FILE` of request paths with their queries, one a line")
	fs.IntVar(&cfg.PID, "pid", 0, "process id of the edge")
	fs.IntVar(&cfg.Conns, "c", cfg.Conns, "concurrent connections")
	fs.DurationVar(&cfg.Duration, "d", cfg.Duration, "how long the load runs")
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "memory sampling interval")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pathsFile != "" {
		paths, err := readPaths(*pathsFile)
		if err != nil {
			return err
		}
		cfg.Paths = paths
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := s.Run(ctx)
	if err != nil {
		return err
	}
	return res.Report(out)
}
