// Command access drives bench/run.sh access, the measures of the edge's access control: it
// writes the deterministic IP deny list of the hit-path measure, plays the well-behaved client
// of the flood measure (paced requests, latency distribution, refusals counted) and the
// spoofed-key flood of the memory measure (a distinct header value per request, the edge's RSS
// and Go heap sampled meanwhile). It talks to pixcdn only through its ports and /proc.
//
// Every subcommand but cidrs prints one machine-readable line, "RESULT key=value ...".
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "access:", err)
		os.Exit(1)
	}
}

const usage = "usage: access cidrs|paced|spoof [flags]"

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("access "+cmd, flag.ContinueOnError)
	url := fs.String("url", "", "`URL` requested (paced, spoof)")
	header := fs.String("header", "X-Client", "header carrying the rate-limit key")
	value := fs.String("value", "good", "the key's value (paced)")
	rate := fs.Float64("rate", 500, "requests per second over all connections (paced)")
	conns := fs.Int("c", 4, "connections (paced) or concurrent requests (spoof)")
	dur := fs.Duration("d", 10*time.Second, "how long to run (paced)")
	n := fs.Int("n", 10000, "CIDRs (cidrs) or requests, one distinct key each (spoof)")
	seed := fs.Int64("seed", 1, "seed (cidrs, spoof)")
	pid := fs.Int("pid", 0, "edge process whose RSS is sampled (spoof)")
	metrics := fs.String("metrics", "", "edge's /metrics `URL`, for the Go heap (spoof)")
	every := fs.Duration("every", 250*time.Millisecond, "sampling interval (spoof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch cmd {
	case "cidrs":
		return writeCIDRs(out, *n, *seed)
	case "paced":
		return runPaced(out, pacedConfig{URL: *url, Header: *header, Value: *value, Rate: *rate, Conns: *conns, Duration: *dur})
	case "spoof":
		return runSpoof(out, spoofConfig{URL: *url, Header: *header, N: *n, Conc: *conns, Seed: *seed,
			PID: *pid, Metrics: *metrics, Every: *every})
	}
	return fmt.Errorf("unknown subcommand %q; %s", cmd, usage)
}
