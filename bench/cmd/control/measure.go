package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/control"
)

// latency summarises durations (nearest rank).
type latency struct{ p50, p99, max time.Duration }

func stats(d []time.Duration) latency {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, max(0, int(math.Ceil(p*float64(len(s))))-1))] }
	return latency{at(.5), at(.99), s[len(s)-1]}
}

func msf(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// result is one measured series.
type result struct {
	lat        latency       // the control plane's own figure (LastAckMS, the answer's ms), or the reference's
	cli        latency       // the client's round trip
	first      latency       // the first acknowledgement of each purge
	cpu        time.Duration // CPU per operation, every process of the measure
	edgeCPU    time.Duration // of which the edges'
	other      float64       // percent of the machine's CPU used by other processes meanwhile
	incomplete int
}

type refKey struct {
	kind string
	n    int
}

// report keeps what the summary needs.
type report struct {
	ref    map[refKey]result
	purge  map[int]result
	config *result
	tp     *tpResult
}

func newReport() *report { return &report{ref: map[refKey]result{}, purge: map[int]result{}} }

func runStep(work, bin string, st step, rep *report) error {
	start := time.Now()
	p, err := startPlane(work, bin, st.n)
	if err != nil {
		return fmt.Errorf("%d edges: %w", st.n, err)
	}
	defer p.close()
	fmt.Printf("(%d edges live %.1f s after the control plane started; load average %s)\n\n", st.n, time.Since(start).Seconds(), loadAvg())
	for _, part := range st.parts {
		switch part {
		case "purge":
			err = purgeLatency(p, st.n, rep)
		case "config":
			err = configPush(p, st.n, rep)
		case "throughput":
			err = throughput(p, st.n, rep)
		}
		if err != nil {
			return fmt.Errorf("%s with %d edges: %w", part, st.n, err)
		}
	}
	return nil
}

func purgeBody(tag string, i int) []byte {
	return fmt.Appendf(nil, `{"kind":"url","targets":["http://img.test/bench/%s/%d.jpg"]}`, tag, i)
}

// purgeLatency sends URL purges one at a time and reads each answer.
func purgeLatency(p *plane, n int, rep *report) error {
	var srv, cli, first, pub []time.Duration
	var r result
	var w cpuWindow
	for i := range *warmup + *purges {
		if i == *warmup {
			w = startCPU(p.edges)
		}
		var ans control.PurgeAnswer
		took, err := p.api.post("/api/purge?timeout=5s", "application/json", purgeBody(fmt.Sprint("l", n), i), &ans)
		if err != nil {
			return err
		}
		if i < *warmup {
			continue
		}
		if !ans.Complete || len(ans.Acks) != n {
			r.incomplete++
		}
		srv, cli, pub = append(srv, msDur(ans.LastAckMS)), append(cli, took), append(pub, msDur(ans.PublishMS))
		f := math.Inf(1)
		for _, a := range ans.Acks {
			f = min(f, a.MS)
		}
		first = append(first, msDur(f))
	}
	m := time.Duration(*purges)
	r.lat, r.cli, r.first = stats(srv), stats(cli), stats(first)
	self, edges, other := w.end(p.edges)
	r.edgeCPU, r.cpu, r.other = edges/m, (self+edges)/m, other
	rep.purge[n] = r
	fmt.Printf("## Purge to the last acknowledgement, %d edges (%d URL purges, sequential, after %d discarded)\n\n", n, *purges, *warmup)
	fmt.Println("| measured | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| last acknowledgement (the answer's last_ack_ms) | %s | %s | %s |\n", msf(r.lat.p50), msf(r.lat.p99), msf(r.lat.max))
	fmt.Printf("| client round trip of POST /api/purge | %s | %s | %s |\n", msf(r.cli.p50), msf(r.cli.p99), msf(r.cli.max))
	fmt.Printf("| first acknowledgement | %s | %s | %s |\n", msf(r.first.p50), msf(r.first.p99), msf(r.first.max))
	ps := stats(pub)
	fmt.Printf("| publish to the stream (publish_ms) | %s | %s | %s |\n", msf(ps.p50), msf(ps.p99), msf(ps.max))
	fmt.Printf("\nIncomplete answers: %d. CPU per purge: %s in all (this process %s, the %d edges %s, %s per edge). Other processes used %.0f %% of the machine's CPU meanwhile.\n\n",
		r.incomplete, msf(r.cpu), msf(r.cpu-r.edgeCPU), n, msf(r.edgeCPU), msf(r.edgeCPU/time.Duration(n)), r.other)
	return nil
}

// versionAnswer is POST /api/config?wait=...'s answer.
type versionAnswer struct {
	Version uint64                `json:"version"`
	Nodes   []control.NodeVersion `json:"nodes"`
	MS      float64               `json:"ms"`
}

const configWarmup = 5

// configPush pushes the two documents in turn, each until every node runs it.
func configPush(p *plane, n int, rep *report) error {
	var srv, cli, slowest []time.Duration
	var r result
	var w cpuWindow
	for i := range configWarmup + *pushes {
		if i == configWarmup {
			w = startCPU(p.edges)
		}
		var ans versionAnswer
		took, err := p.api.post("/api/config?wait=10s&message=bench", "application/yaml", domainsDoc(p.origin.URL, i+1), &ans)
		if err != nil {
			return err
		}
		if i < configWarmup {
			continue
		}
		running, worst := 0, 0.0
		for _, nv := range ans.Nodes {
			if nv.State == "running" {
				running++
			}
			worst = max(worst, nv.MS)
		}
		if running != n {
			r.incomplete++
		}
		srv, cli, slowest = append(srv, msDur(ans.MS)), append(cli, took), append(slowest, msDur(worst))
	}
	m := time.Duration(*pushes)
	r.lat, r.cli, r.first = stats(srv), stats(cli), stats(slowest)
	self, edges, other := w.end(p.edges)
	r.edgeCPU, r.cpu, r.other = edges/m, (self+edges)/m, other
	rep.config = &r
	fmt.Printf("## Configuration push until every node runs it, %d edges (%d pushes of two documents in turn, after %d discarded)\n\n", n, *pushes, configWarmup)
	fmt.Println("| measured | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| client round trip of POST /api/config?wait=10s | %s | %s | %s |\n", msf(r.cli.p50), msf(r.cli.p99), msf(r.cli.max))
	fmt.Printf("| the answer's ms (stored, then every node's report) | %s | %s | %s |\n", msf(r.lat.p50), msf(r.lat.p99), msf(r.lat.max))
	fmt.Printf("| slowest node's ms in each answer | %s | %s | %s |\n", msf(r.first.p50), msf(r.first.p99), msf(r.first.max))
	fmt.Printf("\nPushes not running on every node: %d. CPU per push: %s in all (this process %s, the %d edges %s). Other processes used %.0f %% of the machine's CPU meanwhile.\n\n",
		r.incomplete, msf(r.cpu), msf(r.cpu-r.edgeCPU), n, msf(r.edgeCPU), r.other)
	return nil
}

type tpResult struct {
	n                          int
	complete, incomplete, fail int64
	wall                       time.Duration
	self, edges                time.Duration
	other                      float64
	cli                        latency
}

// throughput has conc clients send URL purges back to back for the duration.
func throughput(p *plane, n int, rep *report) error {
	api := newAPIClient(p.api.base, *conc)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var tr tpResult
	var complete, incomplete, failed atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	w := startCPU(p.edges)
	for c := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; ctx.Err() == nil; i++ {
				var ans control.PurgeAnswer
				took, err := api.post("/api/purge?timeout=5s", "application/json", purgeBody(fmt.Sprint("t", c), i), &ans)
				switch {
				case err != nil:
					failed.Add(1)
				case ans.Complete && len(ans.Acks) == n:
					complete.Add(1)
					mine = append(mine, took)
				default:
					incomplete.Add(1)
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	tr = tpResult{n: n, complete: complete.Load(), incomplete: incomplete.Load(), fail: failed.Load(), wall: time.Since(w.at)}
	tr.self, tr.edges, tr.other = w.end(p.edges)
	if len(all) > 0 {
		tr.cli = stats(all)
	}
	rep.tp = &tr
	sec := tr.wall.Seconds()
	fmt.Printf("## Purge throughput, %d edges, %d clients sending URL purges back to back for %v\n\n", n, *conc, *duration)
	fmt.Println("| complete purges/s | complete | incomplete | failed | client p50 | client p99 | CPU s: this process (control plane, NATS, clients) | CPU s: the edges | CPU per purge | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %.0f | %d | %d | %d | %s | %s | %.2f | %.2f | %s | %.0f |\n\n", float64(tr.complete)/sec, tr.complete, tr.incomplete, tr.fail,
		msf(tr.cli.p50), msf(tr.cli.p99), tr.self.Seconds(), tr.edges.Seconds(), msf((tr.self+tr.edges)/time.Duration(max(tr.complete, 1))), tr.other)
	return nil
}

// print is the summary: each target and the ratio to the reference measured in this run.
func (rep *report) print() {
	fmt.Println("## Summary")
	fmt.Println()
	fmt.Println("| measure | result p50 / p99 | JetStream reference p50 / p99: consumers in this process; one process each | control / reference, p50 and p99 | target | met? | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, n := range slices.Sorted(maps.Keys(rep.purge)) {
		r := rep.purge[n]
		var refs, ratios []string
		for _, k := range []string{"js", "js-procs"} {
			if x, ok := rep.ref[refKey{k, n}]; ok {
				refs = append(refs, fmt.Sprintf("%s / %s", msf(x.lat.p50), msf(x.lat.p99)))
				ratios = append(ratios, fmt.Sprintf("%.1fx, %.1fx", float64(r.lat.p50)/float64(x.lat.p50), float64(r.lat.p99)/float64(x.lat.p99)))
			}
		}
		target, met := "(none)", "n/a"
		switch n {
		case 20:
			target, met = "p99 ≤ 10 ms", yes(r.lat.p99 <= 10*time.Millisecond)
		case 100:
			target, met = "p99 ≤ 50 ms", yes(r.lat.p99 <= 50*time.Millisecond)
		}
		fmt.Printf("| purge, last ack, %d edges (client round trip %s / %s) | %s / %s | %s | %s | %s | %s | %.0f |\n", n,
			msf(r.cli.p50), msf(r.cli.p99), msf(r.lat.p50), msf(r.lat.p99), orDash(refs), orDash(ratios), target, met, r.other)
	}
	if c := rep.config; c != nil {
		fmt.Printf("| config push, every node running it, %d edges (round trip) | %s / %s | - | - | p99 ≤ 20 ms | %s | %.0f |\n",
			*cfgEdges, msf(c.cli.p50), msf(c.cli.p99), yes(c.cli.p99 <= 20*time.Millisecond), c.other)
	}
	if t := rep.tp; t != nil {
		fmt.Printf("| purges/s with every ack, %d edges, %d clients | %.0f/s | - | - | (none) | n/a | %.0f |\n", t.n, *conc, float64(t.complete)/t.wall.Seconds(), t.other)
	}
	fmt.Println()
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "; ")
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}
