// Command router measures `pixcdn router` on loopback (docs/BENCHMARKS.md section 11): the
// decision's cost (internal/router BenchmarkDecide), the DNS mode's throughput and latency
// with dnsperf, the HTTP 302 mode's with wrk against nginx answering the same 302, and the
// time from a node's death to its removal from the answers (and back).
//
// The router is a `pixcdn router` process built from this tree (or -bin); dnsperf, wrk and
// nginx are the Debian packages. Every process started is stopped at the end (SIGTERM, then
// SIGKILL after 5 s), also on an error or an interrupt; every run is bounded in time.
//
//	go run ./bench/cmd/router -part decide,dns,http,health
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
)

var (
	parts        = flag.String("part", "decide,dns,http,health", "comma-separated parts to run")
	rounds       = flag.Int("rounds", 2, "dns, http: rounds of every run")
	duration     = flag.Duration("d", 10*time.Second, "dns, http: length of each dnsperf and wrk run (whole seconds)")
	clients      = flag.Int("c", 4, "dns: dnsperf -c (clients: UDP sockets)")
	threads      = flag.Int("T", 1, "dns: dnsperf -T (threads)")
	outstanding  = flag.Int("q", 200, "dns: dnsperf -q (queries outstanding)")
	rateArg      = flag.String("rates", "50000,10000", "dns: dnsperf -Q of the latency runs (queries/s), comma-separated")
	decideTime   = flag.String("benchtime", "1000000x", "decide: go test -benchtime")
	deaths       = flag.Int("health-rounds", 5, "health: deaths per probe interval")
	intervalsArg = flag.String("probe-intervals", "1s,200ms", "health: the router's -probe-interval values tried")
	binPath      = flag.String("bin", "", "the pixcdn binary (default: go build ./cmd/pixcdn into a temp dir)")
	inprocess    = flag.Bool("inprocess", false, "dns, http: run the router in this process (router.New) instead of a pixcdn process, for -cpuprofile")
	cpuProfile   = flag.String("cpuprofile", "", "write this process's CPU profile to FILE (with -inprocess: the router's)")
)

var (
	intervals []time.Duration
	rates     []int
)

func main() {
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	children.OnSignal("router bench", func() { pprof.StopCPUProfile(); os.RemoveAll(workDir) })
	err := run()
	stopAllProcs()
	pprof.StopCPUProfile()
	if err != nil {
		fatal(err)
	}
}

// workDir is removed on an interrupt too.
var workDir string

func fatal(err error) {
	stopAllProcs()
	fmt.Fprintln(os.Stderr, "router bench:", err)
	os.Exit(1)
}

func run() error {
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p {
		case "decide", "dns", "http", "health":
			want[p] = true
		default:
			return fmt.Errorf("unknown part %q", p)
		}
	}
	for _, s := range strings.Split(*intervalsArg, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d <= 0 {
			return fmt.Errorf("-probe-intervals %q: %v", s, err)
		}
		intervals = append(intervals, d)
	}
	for _, s := range strings.Split(*rateArg, ",") {
		q, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || q <= 0 {
			return fmt.Errorf("-rates %q: want positive numbers", *rateArg)
		}
		rates = append(rates, q)
	}
	if *duration < time.Second {
		return fmt.Errorf("-d %v: at least 1s", *duration)
	}
	work, err := os.MkdirTemp("", "pixcdn-router-bench-")
	if err != nil {
		return err
	}
	workDir = work
	defer os.RemoveAll(work)
	host, _ := os.Hostname()
	fmt.Printf("# pixcdn router benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Host %s, %d CPUs, load average %s; parts %s. dnsperf, wrk, nginx and the router share these CPUs.\n\n", host, numCPU(), loadAvg(), *parts)
	if want["decide"] {
		if _, err := decidePart(work); err != nil {
			return err
		}
	}
	bin := *binPath
	if bin == "" && (want["dns"] || want["http"] || want["health"]) {
		if bin, err = buildPixcdn(work); err != nil {
			return err
		}
	}
	if want["dns"] {
		if want["http"] {
			// The HTTP part reuses the DNS part's router; dnsPart leaves it running for it.
			keepForHTTP = true
		}
		if _, err := dnsPart(work, bin); err != nil {
			return err
		}
	}
	if want["http"] {
		if _, err := httpPart(work, bin); err != nil {
			return err
		}
		if httpRouter != nil {
			httpRouter.stop()
		}
	}
	if want["health"] {
		if _, err := healthPart(work, bin); err != nil {
			return err
		}
	}
	fmt.Printf("Load average at the end: %s.\n", loadAvg())
	return nil
}

// keepForHTTP: dnsPart leaves its router running for httpPart.
var keepForHTTP bool
