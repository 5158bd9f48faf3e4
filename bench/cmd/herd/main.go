// Command herd measures request coalescing ("thundering herd"): many clients ask a cache for one
// cold object at the same instant, the origin is slow, and the report says how many requests
// the origin saw (ideally one) and how long the clients waited (ideally the origin's time).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "herd:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("herd", flag.ContinueOnError)
	fs.StringVar(&cfg.Target, "url", "", "base `URL` of the cache under test")
	fs.StringVar(&cfg.Origin, "origin", "", "base `URL` of benchorigin (for /__count)")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients")
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds, each with a fresh key")
	fs.StringVar(&cfg.Prefix, "prefix", cfg.Prefix, "slow path prefix on the origin")
	fs.StringVar(&cfg.Tag, "tag", cfg.Tag, "server name for keys and the report")
	fs.StringVar(&cfg.WarmPath, "warm", cfg.WarmPath, "path requested first by each client to open its connection")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	header := fs.Bool("header", true, "print the table header")
	var want Target
	fs.Int64Var(&want.OriginRequests, "target-origin", 1, "target origin requests per round (for the verdict line)")
	fs.DurationVar(&want.Median, "target-median", 0, "target median client latency; 0: no verdict line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *header {
		fmt.Fprintln(out, "| server | round | origin requests | median ms | p99 ms | max ms | responses | errors | cache status |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	}
	var results []Result
	for n := 1; n <= cfg.Rounds; n++ {
		res, err := Round(context.Background(), cfg, n)
		if err != nil {
			return err
		}
		results = append(results, res)
		fmt.Fprintln(out, row(cfg.Tag, res))
		if res.FirstErr != nil {
			fmt.Fprintf(os.Stderr, "herd: %s round %d: first error: %v\n", cfg.Tag, n, res.FirstErr)
		}
	}
	fmt.Fprintln(out, totalRow(cfg.Tag, results))
	if want.Median > 0 {
		fmt.Fprintf(out, "\n%s\n", want.Verdict(cfg.Tag, results))
	}
	return nil
}

func row(tag string, r Result) string {
	return fmt.Sprintf("| %s | %d | %d | %.1f | %.1f | %.1f | %s | %d | %s |", tag, r.Round, r.OriginRequests,
		latency.Ms(r.Latency.P50), latency.Ms(r.Latency.P99), latency.Ms(r.Latency.Max),
		counts(r.Statuses), r.Errors, counts(r.CacheStatus))
}

// totalRow sums the origin requests and errors over rounds and shows the median of the round
// medians and the worst round p99.
func totalRow(tag string, rs []Result) string {
	var origin int64
	var errs int
	var p50s []time.Duration
	var worstP99, worstMax time.Duration
	for _, r := range rs {
		origin += r.OriginRequests
		errs += r.Errors
		p50s = append(p50s, r.Latency.P50)
		worstP99, worstMax = max(worstP99, r.Latency.P99), max(worstMax, r.Latency.Max)
	}
	slices.Sort(p50s)
	return fmt.Sprintf("| **%s** | all %d | %d | %.1f (median of rounds) | %.1f (worst round) | %.1f | | %d | |", tag, len(rs), origin,
		latency.Ms(latency.Percentile(p50s, 50)), latency.Ms(worstP99), latency.Ms(worstMax), errs)
}

// counts writes a map as "k×n" pairs in a stable order, e.g. "200×200".
func counts[K comparable](m map[K]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%v×%d", k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// Target is the goal for a herd: this many origin requests per round and a median no
// longer than the origin's time plus a small margin.
type Target struct {
	OriginRequests int64
	Median         time.Duration
}

// Verdict says, over all rounds, whether every round met the origin count and whether the
// median of the round medians met the latency goal.
func (t Target) Verdict(tag string, rs []Result) string {
	var origins []string
	originOK := true
	var p50s []time.Duration
	for _, r := range rs {
		origins = append(origins, fmt.Sprint(r.OriginRequests))
		originOK = originOK && r.OriginRequests == t.OriginRequests && r.Errors == 0
		p50s = append(p50s, r.Latency.P50)
	}
	slices.Sort(p50s)
	med := latency.Percentile(p50s, 50)
	return fmt.Sprintf("%s: origin requests per round %s (target %d each, no errors): **%s**; median of round medians %.1f ms (target ≤ %.0f ms): **%s**.",
		tag, strings.Join(origins, ", "), t.OriginRequests, metWord(originOK), latency.Ms(med), latency.Ms(t.Median), metWord(med <= t.Median))
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
