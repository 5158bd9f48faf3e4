package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/pixcdn/pixcdn/internal/router"
)

const (
	zone   = "cdn.pixcdn.test"
	domain = "img.example.com"
	qname  = domain + "." + zone + "."
)

// The POPs: fra and nrt are placed by the coverage file, iad is the default (loopback
// clients, no ECS, land there by reason=fallback).
var pops = []struct {
	name, net4, net6 string
	octet            int // third octet of the nodes' 192.0.2.x / 2001:db8:N:: addresses
}{{"fra", "198.51.100.0/24", "2001:db8:1::/48", 1}, {"iad", "203.0.113.0/24", "2001:db8:2::/48", 2}, {"nrt", "100.64.0.0/16", "2001:db8:3::/48", 3}}

const nodesPerPOP = 4

// nodeAddr is node i (1-based) of POP p's IPv4 address.
func nodeAddr(p, i int) netip.Addr {
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(pops[p].octet*16 + i)})
}

func nodeName(p, i int) string { return fmt.Sprintf("%s-%d", pops[p].name, i) }

// writeFiles writes the nodes file (health(p, i) is node i's health URL, "" for none) and the
// coverage file into dir.
func writeFiles(dir string, health func(p, i int) string) (nodes, coverage string, err error) {
	var b strings.Builder
	fmt.Fprintf(&b, "domains: [%s]\ndefault_pop: iad\npops:\n", domain)
	for p, pop := range pops {
		fmt.Fprintf(&b, "  - name: %s\n    nodes:\n", pop.name)
		for i := 1; i <= nodesPerPOP; i++ {
			fmt.Fprintf(&b, "      - {name: %s, ipv4: %s, ipv6: \"2001:db8:f%d::%d\"", nodeName(p, i), nodeAddr(p, i), pop.octet, i)
			if h := health(p, i); h != "" {
				fmt.Fprintf(&b, ", health: %q", h)
			}
			b.WriteString("}\n")
		}
	}
	nodes = filepath.Join(dir, "nodes.yaml")
	if err = os.WriteFile(nodes, []byte(b.String()), 0o644); err != nil {
		return
	}
	var c strings.Builder
	c.WriteString(`{"coverageZones": {`)
	for p, pop := range pops {
		if p > 0 {
			c.WriteString(", ")
		}
		fmt.Fprintf(&c, `"%s": {"network": [%q], "network6": [%q], "coordinates": {"latitude": %d, "longitude": %d}}`, pop.name, pop.net4, pop.net6, 10*p, 40*p)
	}
	c.WriteString("}}\n")
	coverage = filepath.Join(dir, "zones.json")
	err = os.WriteFile(coverage, []byte(c.String()), 0o644)
	return
}

// freePort asks the kernel for a free loopback port (TCP; the router binds UDP and TCP on the
// DNS port, so the caller retries on a clash).
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// routerRun is a running router: a `pixcdn router` process, or (inprocess) router.New here.
type routerRun struct {
	dns, http, metrics string
	p                  *proc
	r                  *router.Router
}

// cpu is the router's CPU so far; in process it is this whole process's.
func (rr *routerRun) cpu() time.Duration {
	if rr.p != nil {
		return cpuOf(rr.p.Pid())
	}
	return selfCPU()
}

func (rr *routerRun) stop() {
	if rr.p != nil {
		stopProcs([]*proc{rr.p})
	}
	if rr.r != nil {
		rr.r.Close()
	}
}

// startRouter starts the router over the files, and waits until its DNS answers with want
// addresses for a loopback client (the default POP's nodes up).
func startRouter(dir, bin, nodes, coverage string, answers int, interval time.Duration, inprocess bool, want int) (*routerRun, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		rr := &routerRun{dns: fmt.Sprintf("127.0.0.1:%d", freePort()), http: fmt.Sprintf("127.0.0.1:%d", freePort()), metrics: fmt.Sprintf("127.0.0.1:%d", freePort())}
		if inprocess {
			r, err := router.New(router.Config{Zone: zone, NodesFile: nodes, CoverageFile: coverage, DNSListen: rr.dns, HTTPListen: rr.http,
				MetricsListen: rr.metrics, Answers: answers, ProbeInterval: interval})
			if err == nil {
				if err = r.Start(); err != nil {
					r.Close()
				}
			}
			if err != nil {
				lastErr = err
				continue
			}
			rr.r = r
		} else {
			args := []string{"router", "-zone", zone, "-nodes", nodes, "-coverage", coverage, "-dns", rr.dns, "-http", rr.http,
				"-metrics", rr.metrics, "-answers", strconv.Itoa(answers), "-probe-interval", interval.String()}
			p, err := startServer("pixcdn router", filepath.Join(dir, fmt.Sprintf("router-%d.log", time.Now().UnixNano())), bin, args...)
			if err != nil {
				return nil, err
			}
			rr.p = p
		}
		if lastErr = rr.waitAnswers(want, 10*time.Second); lastErr == nil {
			return rr, nil
		}
		rr.stop()
	}
	return nil, fmt.Errorf("router did not come up: %w", lastErr)
}

// waitAnswers waits until a loopback client's A answer has n addresses.
func (rr *routerRun) waitAnswers(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	for {
		if rr.p != nil && rr.p.Exited() {
			return fmt.Errorf("pixcdn router exited: %s", rr.p.State)
		}
		addrs, err := queryA(c, rr.dns, nil)
		if err == nil && len(addrs) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d addresses in the answer (err %v), want %d", len(addrs), err, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queryA asks for qname A, with ECS when subnet is given, and returns the answer's addresses.
func queryA(c *dns.Client, server string, subnet *dns.EDNS0_SUBNET) ([]netip.Addr, error) {
	m, err := query(c, server, dns.TypeA, subnet)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			ip, _ := netip.AddrFromSlice(a.A)
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}

func query(c *dns.Client, server string, qtype uint16, subnet *dns.EDNS0_SUBNET) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(qname, qtype)
	if subnet != nil {
		q.SetEdns0(1232, false)
		o := q.IsEdns0()
		o.Option = append(o.Option, subnet)
	}
	m, _, err := c.Exchange(q, server)
	if err != nil {
		return nil, err
	}
	if m.Rcode != dns.RcodeSuccess {
		return m, fmt.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	return m, nil
}

// explainTXT is the TXT answer: how the router places a query with this subnet.
func explainTXT(server string, subnet *dns.EDNS0_SUBNET) string {
	m, err := query(&dns.Client{Timeout: time.Second}, server, dns.TypeTXT, subnet)
	if err != nil {
		return "error: " + err.Error()
	}
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			return strings.Join(t.Txt, " ")
		}
	}
	return "(no TXT)"
}

// answersByReason reads pixcdn_router_answers_total for mode from /metrics, summed by reason.
func answersByReason(metrics, mode string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metrics+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "pixcdn_router_answers_total{") || !strings.Contains(line, `mode="`+mode+`"`) {
			continue
		}
		_, after, _ := strings.Cut(line, `reason="`)
		reason, _, _ := strings.Cut(after, `"`)
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[reason] += v
	}
	return out, sc.Err()
}

func diffReasons(before, after map[string]float64) string {
	var parts []string
	for _, r := range []string{"coverage", "geo", "fallback", "overflow", "none"} {
		if d := after[r] - before[r]; d != 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", r, d))
		}
	}
	if len(parts) == 0 {
		return "none counted"
	}
	return strings.Join(parts, ", ")
}
