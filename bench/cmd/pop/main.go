// Command pop measures a POP of pixcdn nodes on loopback (docs/BENCHMARKS.md section 9): origin
// requests and hit ratio under a Zipf(1.0) workload, one POP against independent nodes; the cost
// of a peer hop; hit throughput of a POP against one node; time to notice a dead node and the
// keys that move; a herd spread over the POP. Every node is a real edge with its own listeners
// in this process (internal/cluster/clustertest); every load is bounded in requests or time.
//
//	go run ./bench/cmd/pop -part zipf,hop,throughput,loss,herd
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/cluster/clustertest"
)

var (
	parts    = flag.String("part", "zipf,hop,throughput,loss,herd", "comma-separated parts to run")
	objects  = flag.Int("objects", 100_000, "zipf: distinct objects")
	requests = flag.Int("requests", 300_000, "zipf: requests measured, after as many to warm the caches")
	memory   = flag.Int64("memory", 32<<20, "zipf: memory tier of each node, bytes")
	size     = flag.Int("size", 1024, "zipf: body bytes of each object")
	conc     = flag.Int("c", 16, "concurrent clients")
	duration = flag.Duration("d", 10*time.Second, "throughput: length of each run")
)

func main() {
	flag.Parse()
	for _, p := range strings.Split(*parts, ",") {
		var err error
		switch p {
		case "zipf":
			err = zipf()
		case "hop":
			err = hop()
		case "throughput":
			err = throughput()
		case "loss":
			err = loss()
		case "herd":
			err = herd()
		default:
			err = fmt.Errorf("unknown part %q", p)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pop:", err)
			os.Exit(1)
		}
	}
}

// origin answers every path with a cacheable body of n bytes after delay, counting requests.
type origin struct {
	srv   *httptest.Server
	count atomic.Int64
}

func newOrigin(n int, delay time.Duration) *origin {
	o := &origin{}
	body := strings.Repeat("x", n)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.count.Add(1)
		if delay > 0 {
			time.Sleep(delay) // a slow origin, as the herd part asks
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, body)
	}))
	return o
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 2048}, Timeout: 30 * time.Second}

// get asks base for path as a client of the domain; it returns the Cache-Status.
func get(base, path string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Host = clustertest.Domain
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s%s: %s", base, path, resp.Status)
	}
	return resp.Header.Get("Cache-Status"), nil
}

// zipfKeys draws n object numbers from Zipf(1.0) over m objects (rank 1 the most requested):
// the inverse of the harmonic CDF, by binary search, seeded so every run draws the same keys.
func zipfKeys(n, m int) []int {
	cdf := make([]float64, m)
	sum := 0.0
	for i := range m {
		sum += 1 / float64(i+1)
		cdf[i] = sum
	}
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]int, n)
	for i := range out {
		u := rng.Float64() * sum
		k, _ := slices.BinarySearch(cdf, u)
		out[i] = min(k, m-1)
	}
	return out
}

// drive sends the keys to the nodes round-robin, conc at a time.
func drive(bases []string, keys []int) (err error) {
	var next atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) {
					return
				}
				if _, e := get(bases[i%len(bases)], fmt.Sprintf("/z/%d.bin", keys[i])); e != nil {
					errOnce.Do(func() { err = e })
					return
				}
			}
		}()
	}
	wg.Wait()
	return err
}

func zipf() error {
	keys := zipfKeys(2**requests, *objects)
	warm, measured := keys[:*requests], keys[*requests:]
	fmt.Printf("## Zipf(1.0): %d objects of %d B, %d requests to warm then %d measured, %d clients, nodes of %d MiB memory each\n\n",
		*objects, *size, len(warm), len(measured), *conc, *memory>>20)
	fmt.Println("| setup | origin requests (measured part) | request hit ratio (served without the origin) | time |")
	fmt.Println("|---|---|---|---|")
	run := func(name string, pop bool, n int) (int64, error) {
		o := newOrigin(*size, 0)
		defer o.srv.Close()
		var nodes []*clustertest.Node
		var err error
		opt := clustertest.Options{Memory: *memory, HotRate: 1e9}
		if pop {
			nodes, err = clustertest.StartPOP(n, "z", o.srv.URL, opt)
		} else {
			opt.NoPicker = true
			for i := range n {
				nd, e := clustertest.Start(fmt.Sprintf("solo%d", i), o.srv.URL, opt)
				if e != nil {
					return 0, e
				}
				nodes = append(nodes, nd)
			}
		}
		if err != nil {
			return 0, err
		}
		defer clustertest.Stop(nodes)
		var bases []string
		for _, nd := range nodes {
			bases = append(bases, nd.URL())
		}
		if err := drive(bases, warm); err != nil {
			return 0, err
		}
		before := o.count.Load()
		start := time.Now()
		if err := drive(bases, measured); err != nil {
			return 0, err
		}
		oc := o.count.Load() - before
		fmt.Printf("| %s | %d | %.3f | %.1f s |\n", name, oc, 1-float64(oc)/float64(len(measured)), time.Since(start).Seconds())
		return oc, nil
	}
	one, err := run("1 node", false, 1)
	if err != nil {
		return err
	}
	three, err := run("3 independent nodes", false, 3)
	if err != nil {
		return err
	}
	pop, err := run("a POP of 3 nodes", true, 3)
	if err != nil {
		return err
	}
	fmt.Printf("\nPOP / independent origin requests: %.3f (target ≤ 0.400); 1 node: %d\n\n", float64(pop)/float64(three), one)
	return nil
}

// percentiles of durations.
func pct(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)]
}

func hop() error {
	o := newOrigin(1024, 0)
	defer o.srv.Close()
	nodes, err := clustertest.StartPOP(2, "h", o.srv.URL, clustertest.Options{HotRate: 1e9})
	if err != nil {
		return err
	}
	defer clustertest.Stop(nodes)
	// Keys node h0 owns (a local hit there) and keys h1 owns (a peer hop from h0).
	var local, remote []string
	for i := 0; len(local) < 200 || len(remote) < 200; i++ {
		k := fmt.Sprintf("/hop/%d", i)
		if nodes[0].Cluster.OwnerOf(clustertest.Domain+k) == "h0" {
			local = append(local, k)
		} else {
			remote = append(remote, k)
		}
	}
	local, remote = local[:200], remote[:200]
	for _, k := range append(append([]string{}, local...), remote...) {
		if _, err := get(nodes[0].URL(), k); err != nil { // warm: each stored at its owner
			return err
		}
	}
	measure := func(ks []string) ([]time.Duration, error) {
		var d []time.Duration
		for round := range 50 {
			for _, k := range ks {
				start := time.Now()
				if _, err := get(nodes[0].URL(), k); err != nil {
					return nil, err
				}
				if round > 0 {
					d = append(d, time.Since(start))
				}
			}
		}
		return d, nil
	}
	l, err := measure(local)
	if err != nil {
		return err
	}
	r, err := measure(remote)
	if err != nil {
		return err
	}
	fmt.Println("## The cost of a peer hop (1 KiB object, sequential requests to one node, 9 800 each)")
	fmt.Println()
	fmt.Println("| answer | p50 | p90 | p99 |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| local hit | %v | %v | %v |\n", pct(l, .5), pct(l, .9), pct(l, .99))
	fmt.Printf("| the owner's hit, through a peer hop | %v | %v | %v |\n", pct(r, .5), pct(r, .9), pct(r, .99))
	fmt.Printf("\nadded by the hop: p50 %v, p99 %v (target < 1 ms)\n\n", pct(r, .5)-pct(l, .5), pct(r, .99)-pct(l, .99))
	return nil
}

// throughput drives hits for d with conc clients: one node, then a POP of 3 asked round-robin
// for keys spread over its owners (two thirds of them a peer hop away).
func throughput() error {
	fmt.Printf("## Hit throughput, %d clients for %v each, 1 KiB objects, all on this machine's 2 cores\n\n", *conc, *duration)
	fmt.Println("| setup | requests/s | of which peer hops | failed |")
	fmt.Println("|---|---|---|---|")
	run := func(name string, n int, hotRate float64) error {
		o := newOrigin(1024, 0)
		defer o.srv.Close()
		nodes, err := clustertest.StartPOP(n, "t", o.srv.URL, clustertest.Options{HotRate: hotRate})
		if err != nil {
			return err
		}
		defer clustertest.Stop(nodes)
		var bases []string
		for _, nd := range nodes {
			bases = append(bases, nd.URL())
		}
		for i := range 300 {
			if _, err := get(bases[0], fmt.Sprintf("/t/%d", i)); err != nil {
				return err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), *duration)
		defer cancel()
		var done, hops, failed atomic.Int64
		var wg sync.WaitGroup
		for c := range *conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; ctx.Err() == nil; i += *conc {
					cs, err := get(bases[i%len(bases)], fmt.Sprintf("/t/%d", i%300))
					if err != nil {
						if ctx.Err() == nil && failed.Add(1) == 1 {
							fmt.Fprintln(os.Stderr, "pop: throughput:", err)
						}
						continue
					}
					done.Add(1)
					if strings.Contains(cs, ", ") {
						hops.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Printf("| %s | %.0f | %.0f %% | %d |\n", name, float64(done.Load())/duration.Seconds(), 100*float64(hops.Load())/float64(max(done.Load(), 1)), failed.Load())
		return nil
	}
	if err := run("1 node", 1, 1e9); err != nil {
		return err
	}
	if err := run("a POP of 3 nodes, no copies (every non-owner request a peer hop)", 3, 1e9); err != nil {
		return err
	}
	if err := run("a POP of 3 nodes, hot copies (hot_rate 10, the default)", 3, 10); err != nil {
		return err
	}
	fmt.Println()
	return nil
}

// loss kills one of three nodes and times how long the others take to drop it.
func loss() error {
	o := newOrigin(64, 0)
	defer o.srv.Close()
	fmt.Println("## A node dies: time until the others stop asking it, and the keys that move (gossip probe interval 200 ms in clustertest; 1 s by default)")
	fmt.Println()
	fmt.Println("| round | detected after | keys moved (of 10 000) | moved from the dead node only |")
	fmt.Println("|---|---|---|---|")
	for round := range 3 {
		nodes, err := clustertest.StartPOP(3, "l", o.srv.URL, clustertest.Options{})
		if err != nil {
			return err
		}
		keys := make([]string, 10_000)
		before := make([]string, len(keys))
		for i := range keys {
			keys[i] = fmt.Sprintf("%s/l/%d", clustertest.Domain, i)
			before[i] = nodes[0].Cluster.OwnerOf(keys[i])
		}
		start := time.Now()
		nodes[2].Kill()
		if err := clustertest.WaitMembers(nodes[:2], 2, 60*time.Second); err != nil {
			clustertest.Stop(nodes)
			return err
		}
		took := time.Since(start)
		moved, only := 0, true
		for i, k := range keys {
			if after := nodes[0].Cluster.OwnerOf(k); after != before[i] {
				moved++
				only = only && before[i] == "l2"
			}
		}
		fmt.Printf("| %d | %v | %d (%.1f %%) | %t |\n", round+1, took.Round(time.Millisecond), moved, 100*float64(moved)/float64(len(keys)), only)
		clustertest.Stop(nodes)
	}
	fmt.Println()
	return nil
}

// herd sends 200 clients at one cold object over 3 nodes, the origin taking 200 ms.
func herd() error {
	fmt.Println("## Herd over a POP: 200 clients, one cold object, 3 nodes, the origin answers in 200 ms")
	fmt.Println()
	fmt.Println("| round | origin requests | client p50 | client p99 |")
	fmt.Println("|---|---|---|---|")
	for round := range 5 {
		o := newOrigin(1024, 200*time.Millisecond)
		nodes, err := clustertest.StartPOP(3, "r", o.srv.URL, clustertest.Options{HotRate: 1e9})
		if err != nil {
			return err
		}
		var mu sync.Mutex
		var d []time.Duration
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				if _, err := get(nodes[i%3].URL(), "/herd"); err == nil {
					mu.Lock()
					d = append(d, time.Since(start))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		fmt.Printf("| %d | %d | %v | %v |\n", round+1, o.count.Load(), pct(d, .5).Round(100*time.Microsecond), pct(d, .99).Round(100*time.Microsecond))
		clustertest.Stop(nodes)
		o.srv.Close()
	}
	fmt.Println()
	return nil
}
