package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

// healthServer is one node's /readyz in this process; kill closes its listener and
// connections (probes get "connection refused"), revive listens on the same address again.
type healthServer struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newHealthServer() (*healthServer, error) {
	h := &healthServer{addr: "127.0.0.1:0"}
	if err := h.revive(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *healthServer) revive() error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addr = ln.Addr().String()
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ready\n")) })}
	go h.srv.Serve(ln)
	return nil
}

func (h *healthServer) kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
}

func (h *healthServer) url() string { return "http://" + h.addr + "/readyz" }

// healthResult is one probe interval's rounds.
type healthResult struct {
	interval      time.Duration
	removal, back []time.Duration
	other         float64
	queries       int
}

// healthPart kills one node's health server and polls the router over DNS until the node's
// address leaves the answer, then revives it and polls until it is back.
func healthPart(work, bin string) ([]healthResult, error) {
	var out []healthResult
	for _, iv := range intervals {
		r, err := healthRounds(work, bin, iv)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	printHealth(out)
	return out, nil
}

func healthRounds(work, bin string, iv time.Duration) (healthResult, error) {
	res := healthResult{interval: iv}
	dir := filepath.Join(work, "health-"+iv.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	servers := map[[2]int]*healthServer{}
	defer func() {
		for _, h := range servers {
			h.kill()
		}
	}()
	for p := range pops {
		for i := 1; i <= nodesPerPOP; i++ {
			h, err := newHealthServer()
			if err != nil {
				return res, err
			}
			servers[[2]int{p, i}] = h
		}
	}
	nodes, cov, err := writeFiles(dir, func(p, i int) string { return servers[[2]int{p, i}].url() })
	if err != nil {
		return res, err
	}
	// -answers 8: every node of the POP is in every answer, so an address missing is the node
	// out, not a choice among healthy ones.
	rr, err := startRouter(dir, bin, nodes, cov, 8, iv, false, nodesPerPOP)
	if err != nil {
		return res, err
	}
	defer rr.stop()
	const victimPOP, victim = 1, 2 // iad-2: loopback clients' POP
	addr := nodeAddr(victimPOP, victim)
	h := servers[[2]int{victimPOP, victim}]
	limit := 10*iv + 5*time.Second
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	w := startCPU(rr.cpu)
	for round := 1; round <= *deaths; round++ {
		t0 := time.Now()
		h.kill()
		n, err := pollUntil(c, rr.dns, addr, false, limit)
		res.queries += n
		if err != nil {
			return res, fmt.Errorf("interval %v round %d: %s still answered: %w", iv, round, nodeName(victimPOP, victim), err)
		}
		res.removal = append(res.removal, time.Since(t0))
		// The removal was seen right after the probe that took the node out: revive it at a
		// different phase of the probe ticker each round, else every return takes the same
		// (longest) time.
		time.Sleep(time.Duration(round-1) * iv / time.Duration(*deaths))
		t1 := time.Now()
		if err := h.revive(); err != nil {
			return res, err
		}
		n, err = pollUntil(c, rr.dns, addr, true, limit)
		res.queries += n
		if err != nil {
			return res, fmt.Errorf("interval %v round %d: %s not back: %w", iv, round, nodeName(victimPOP, victim), err)
		}
		res.back = append(res.back, time.Since(t1))
		fmt.Fprintf(os.Stderr, "router bench: health %v round %d: removed after %v, back after %v\n", iv, round, res.removal[round-1].Round(time.Millisecond), res.back[round-1].Round(time.Millisecond))
		// A pause of a random fraction of an interval, so the kills fall at different phases of
		// the probe ticker.
		time.Sleep(time.Duration(round) * iv / time.Duration(*deaths+1))
	}
	_, res.other = w.End(0)
	return res, nil
}

// pollUntil queries every 10 ms until addr is (present) or is not (!present) in the answer;
// it returns the queries sent.
func pollUntil(c *dns.Client, server string, addr netip.Addr, present bool, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	n := 0
	for {
		n++
		addrs, err := queryA(c, server, nil)
		if err == nil && slices.Contains(addrs, addr) == present {
			return n, nil
		}
		if time.Now().After(deadline) {
			return n, fmt.Errorf("after %v (last answer %v, err %v)", limit, addrs, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func printHealth(rs []healthResult) {
	fmt.Println("## A node's death: until it leaves the DNS answers, and its return")
	fmt.Println()
	fmt.Printf("12 nodes, each with a health URL served by this program; `-answers 8` (every node of the POP in each answer); iad-2's health server closed (its probes then get connection refused) and the router polled over DNS (miekg/dns client, loopback: the default POP iad) every 10 ms until iad-2's address is gone; then, after a pause of (round-1)/rounds of an interval (so that the revivals fall at different phases of the probe ticker), the server listens again on the same port and the poll waits for the address to return. %d rounds per interval. Expected with fall 2 / rise 3: out within 1-2 intervals, back within 2-3.\n\n", *deaths)
	fmt.Println("| probe interval | death → removal: each round | min / median / max | return: each round | min / median / max | in intervals (removal; return) | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rs {
		rm, bk := latency.Summarize(r.removal), latency.Summarize(r.back)
		fmt.Printf("| %v | %s | %s / %s / %s | %s | %s / %s / %s | %.2f-%.2f; %.2f-%.2f | %.0f |\n", r.interval, list(r.removal), secs(rm.Min), secs(rm.P50), secs(rm.Max),
			list(r.back), secs(bk.Min), secs(bk.P50), secs(bk.Max), float64(rm.Min)/float64(r.interval), float64(rm.Max)/float64(r.interval),
			float64(bk.Min)/float64(r.interval), float64(bk.Max)/float64(r.interval), r.other)
	}
	fmt.Println()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func list(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f", d.Seconds())
	}
	return s
}
