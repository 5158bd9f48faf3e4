// Command h3 measures cache hits over HTTP/3 beside HTTP/2 on one edge in the same run
// (docs/BENCHMARKS.md section 13): a `pixcdn edge` process built from this tree (or -bin) with
// one TLS listener, and so HTTP/3 on its UDP port, in front of an origin in this process;
// closed-loop clients in this process (Go's HTTP/2 client, quic-go's HTTP/3 client) load it
// with hits of each size for a bounded time, HTTP/2 and HTTP/3 alternating, and it prints
// req/s, p50 and p99, and the CPU the edge and the clients spent per request.
//
// Every process started is stopped at the end (SIGTERM, then SIGKILL after 5 s), also on an
// error or an interrupt; every load is bounded in time, every request by -timeout.
//
//	go run ./bench/cmd/h3 -rounds 3 -d 10s -c 64 -conns 4 -sizes 1024,20480
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

var (
	rounds   = flag.Int("rounds", 3, "rounds; each loads every size over h2 and h3")
	duration = flag.Duration("d", 10*time.Second, "length of each load")
	conc     = flag.Int("c", 64, "concurrent clients (requests in flight) per load")
	conns    = flag.Int("conns", 4, "connections the clients share (one TCP+TLS or one QUIC connection each)")
	sizesArg = flag.String("sizes", "1024,20480", "object sizes in bytes, comma-separated")
	timeout  = flag.Duration("timeout", 10*time.Second, "longest wait for one response")
	binPath  = flag.String("bin", "", "the pixcdn binary (default: go build ./cmd/pixcdn into a temp dir)")
	procs    = flag.Int("edge-procs", 0, "GOMAXPROCS of the edge (0: its default, every CPU)")
)

func main() {
	flag.Parse()
	children.OnSignal("h3 bench", func() { os.RemoveAll(workDir) })
	err := run()
	children.StopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "h3 bench:", err)
		os.Exit(1)
	}
}

// workDir is removed on an interrupt too.
var workDir string

func run() error {
	sizes, err := parseSizes(*sizesArg)
	if err != nil {
		return err
	}
	if *duration < time.Second || *conc < 1 || *conns < 1 || *conns > *conc {
		return fmt.Errorf("want -d of 1s or more and 1 <= -conns <= -c")
	}
	work, err := os.MkdirTemp("", "pixcdn-h3-bench-")
	if err != nil {
		return err
	}
	workDir = work
	defer os.RemoveAll(work)
	e, err := startEdge(work, *binPath, sizes)
	if err != nil {
		return err
	}
	defer e.stop()
	host, _ := os.Hostname()
	fmt.Printf("# pixcdn HTTP/3 beside HTTP/2, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Host %s, %d CPUs shared by the edge and the clients, load average before %s. `%s`: %d rounds of %v per load, %d clients over %d connections, HTTP/2 and HTTP/3 alternating (the order swaps each round).\n\n",
		host, numCPU(), procstat.LoadAvg(), strings.Join(append([]string{"go run ./bench/cmd/h3"}, os.Args[1:]...), " "), *rounds, *duration, *conc, *conns)
	var out []result
	for round := 1; round <= *rounds; round++ {
		for _, size := range sizes {
			order := []proto{h2, h3}
			if round%2 == 0 {
				order = []proto{h3, h2}
			}
			for _, p := range order {
				r, err := measure(e, p, size)
				if err != nil {
					return fmt.Errorf("round %d, %s, %d B: %w", round, p, size, err)
				}
				r.round = round
				out = append(out, r)
				fmt.Fprintf(os.Stderr, "h3 bench: round %d %s %d B: %.0f req/s p50 %v p99 %v, edge %.1f µs/req, clients %.1f µs/req, load %s\n",
					round, p, size, r.rps, r.lat.P50, r.lat.P99, us(r.edgeCPU), us(r.clientCPU), r.load)
			}
		}
	}
	printResults(out, sizes)
	fmt.Printf("Load average at the end: %s.\n", procstat.LoadAvg())
	return nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1<<20 {
			return nil, fmt.Errorf("-sizes %q: want byte counts from 1 to 1048576", s)
		}
		out = append(out, n)
	}
	return out, nil
}
