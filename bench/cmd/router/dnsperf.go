package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

// dnsVariant is one query set dnsperf sends.
type dnsVariant struct {
	name   string
	lines  []string // the data file, repeated by dnsperf
	ecs    string   // dnsperf -E value, "" for none
	subnet *dns.EDNS0_SUBNET
}

var ecsFra = &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(198, 51, 100, 0).To4()}

var dnsVariants = []dnsVariant{
	{name: "A, no ECS (loopback: default POP)", lines: []string{qname + " A"}},
	// 8:00011800c63364 is option 8 (Client Subnet), family 1, source /24, scope 0, 198.51.100.
	{name: "A, ECS 198.51.100.0/24 (coverage: fra)", lines: []string{qname + " A"}, ecs: "8:00011800c63364", subnet: ecsFra},
	{name: "8 A : 1 AAAA : 1 TXT, ECS /24", lines: append(repeat(qname+" A", 8), qname+" AAAA", qname+" TXT"), ecs: "8:00011800c63364", subnet: ecsFra},
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// perfResult is one dnsperf run.
type perfResult struct {
	variant         string
	round           int
	mode            string // "max" or "rate"
	rate            int    // -Q of a rate run
	sent, completed int64
	lost            int64
	qps             float64
	lat             latency.Summary // rate runs: from each answer's latency (-v)
	p999            time.Duration
	nonNoError      int64
	routerCPU       time.Duration // per completed query
	perfCPU         time.Duration // dnsperf's, per completed query
	other           float64
	reasons         string
}

// dnsPart measures the DNS mode with dnsperf against a router over nodes without health URLs.
func dnsPart(work, bin string) ([]perfResult, error) {
	dir := filepath.Join(work, "dns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	nodes, cov, err := writeFiles(dir, func(int, int) string { return "" })
	if err != nil {
		return nil, err
	}
	rr, err := startRouter(dir, bin, nodes, cov, 2, time.Second, *inprocess, 2)
	if err != nil {
		return nil, err
	}
	if keepForHTTP {
		httpRouter = rr // the HTTP part uses the same router; run stops it
	} else {
		defer rr.stop()
	}
	_, port, _ := net.SplitHostPort(rr.dns)
	fmt.Printf("## DNS mode: dnsperf against `pixcdn router`\n\n")
	fmt.Printf("Router `%s`, 3 POPs of %d nodes without health URLs (all up), `-answers 2`. dnsperf 2.10 over UDP on loopback, `-c %d -T %d -q %d`, %v per run; maximum runs unlimited, latency runs at `-Q` %v with `-v` (each answer's latency, nearest-rank percentiles over all answers). Load average before: %s.\n\n",
		map[bool]string{true: "in this process (-inprocess)", false: "process"}[*inprocess], nodesPerPOP, *clients, *threads, *outstanding, *duration, rates, loadAvg())
	for i, v := range dnsVariants {
		fmt.Printf("- %s: TXT says `%s`\n", v.name, explainTXT(rr.dns, v.subnet))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("q%d.txt", i)), []byte(strings.Join(v.lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	fmt.Println()
	var out []perfResult
	for round := 1; round <= *rounds; round++ {
		for i, v := range dnsVariants {
			for _, q := range append([]int{0}, rates...) {
				mode := map[bool]string{true: "max", false: "rate"}[q == 0]
				r, err := dnsperfRun(rr, port, filepath.Join(dir, fmt.Sprintf("q%d.txt", i)), filepath.Join(dir, fmt.Sprintf("dnsperf-%d-%d-%d.txt", round, i, q)), v, q)
				if err != nil {
					return out, err
				}
				r.round = round
				out = append(out, r)
				fmt.Fprintf(os.Stderr, "router bench: dns %s round %d %s %d: %.0f q/s, lost %d, p50 %v p99 %v, router %.1f µs/q, other CPU %.0f %%\n",
					v.name, round, mode, q, r.qps, r.lost, r.lat.P50, r.lat.P99, us(r.routerCPU), r.other)
			}
		}
	}
	printDNS(out)
	return out, nil
}

// dnsperfRun runs dnsperf once: unlimited (q 0) or at q queries/s with each answer's latency.
func dnsperfRun(rr *routerRun, port, data, outPath string, v dnsVariant, q int) (perfResult, error) {
	r := perfResult{variant: v.name, mode: "max", rate: q}
	if q > 0 {
		r.mode = "rate"
	}
	args := []string{"-s", "127.0.0.1", "-p", port, "-d", data, "-l", strconv.Itoa(int(duration.Seconds())),
		"-c", strconv.Itoa(*clients), "-T", strconv.Itoa(*threads), "-q", strconv.Itoa(*outstanding), "-t", "2"}
	if v.ecs != "" {
		args = append(args, "-E", v.ecs)
	}
	if q > 0 {
		args = append(args, "-Q", strconv.Itoa(q), "-v")
	}
	before, err := answersByReason(rr.metrics, "dns")
	if err != nil {
		return r, err
	}
	w := startCPU(rr.cpu)
	toolCPU, err := runTool(*duration+30*time.Second, "dnsperf", outPath, nil, "", "dnsperf", args...)
	if err != nil {
		return r, err
	}
	srv, other := w.End(toolCPU)
	after, _ := answersByReason(rr.metrics, "dns")
	r.reasons, r.other = diffReasons(before, after), other
	if err := parseDnsperf(outPath, &r); err != nil {
		return r, err
	}
	if r.completed > 0 {
		r.routerCPU, r.perfCPU = srv/time.Duration(r.completed), toolCPU/time.Duration(r.completed)
	}
	return r, nil
}

// parseDnsperf reads dnsperf's statistics and, with -v, each answer's latency.
func parseDnsperf(path string, r *perfResult) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var lats []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "> ") {
			fs := strings.Fields(line)
			s, err := strconv.ParseFloat(fs[len(fs)-1], 64)
			if err != nil || len(fs) < 5 {
				continue
			}
			lats = append(lats, time.Duration(s*1e9))
			if fs[1] != "NOERROR" {
				r.nonNoError++
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		first := strings.Fields(val)
		if len(first) == 0 {
			continue
		}
		switch key {
		case "Queries sent":
			r.sent, _ = strconv.ParseInt(first[0], 10, 64)
		case "Queries completed":
			r.completed, _ = strconv.ParseInt(first[0], 10, 64)
		case "Queries lost":
			r.lost, _ = strconv.ParseInt(first[0], 10, 64)
		case "Queries per second":
			r.qps, _ = strconv.ParseFloat(first[0], 64)
		case "Response codes":
			for _, rc := range strings.Split(val, ",") {
				if fs := strings.Fields(rc); len(fs) >= 2 && fs[0] != "NOERROR" {
					n, _ := strconv.ParseInt(fs[1], 10, 64)
					r.nonNoError += n
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if r.completed == 0 {
		return fmt.Errorf("dnsperf completed no query (output in %s)", path)
	}
	if len(lats) > 0 {
		r.nonNoError /= 2 // counted in both the -v lines and the summary
		r.lat = latency.Summarize(lats)
		slices.Sort(lats) // Summarize sorted a copy; p99.9 needs this one sorted
		r.p999 = latency.Percentile(lats, 99.9)
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func ms3(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func printDNS(rs []perfResult) {
	fmt.Println("### Maximum throughput (unlimited)")
	fmt.Println()
	fmt.Println("| queries | round | queries/s | lost | non-NOERROR | router CPU µs/query | dnsperf CPU µs/query | other CPU % | answers counted by reason |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		if r.mode == "max" {
			fmt.Printf("| %s | %d | %.0f | %d | %d | %.1f | %.1f | %.0f | %s |\n", r.variant, r.round, r.qps, r.lost, r.nonNoError, us(r.routerCPU), us(r.perfCPU), r.other, r.reasons)
		}
	}
	fmt.Println()
	fmt.Printf("### Latency at a fixed rate (`-Q`)\n\n")
	fmt.Println("| queries | -Q | round | queries/s reached | answers timed | p50 ms | p99 ms | p99.9 ms | max ms | lost | router CPU µs/query | dnsperf CPU µs/query | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		if r.mode == "rate" {
			fmt.Printf("| %s | %d | %d | %.0f | %d | %s | %s | %s | %s | %d | %.1f | %.1f | %.0f |\n", r.variant, r.rate, r.round, r.qps, r.lat.N, ms3(r.lat.P50), ms3(r.lat.P99), ms3(r.p999), ms3(r.lat.Max), r.lost, us(r.routerCPU), us(r.perfCPU), r.other)
		}
	}
	fmt.Println()
	fmt.Println("\"router CPU\": user+system CPU of the router process over the run (/proc/PID/stat, 10 ms ticks) / queries completed; it includes the kernel's loopback delivery of its answers. \"other CPU %\": the share of both CPUs busy outside the router, dnsperf and this program.")
	fmt.Println()
}
