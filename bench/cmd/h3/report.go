package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// printResults prints every load, then for each size the h3/h2 ratios of the medians over the
// rounds (each round's pair ran back to back on the same edge).
func printResults(rs []result, sizes []int) {
	fmt.Println("| size | proto | round | req/s | p50 ms | p99 ms | failed | edge CPU µs/req | client CPU µs/req | UDP sends/req | UDP drops | other CPU % | load after |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Printf("| %s | %s | %d | %.0f | %s | %s | %d | %.1f | %.1f | %.1f | %d | %.0f | %s |\n", sizeName(r.size), r.proto, r.round, r.rps,
			ms(r.lat.P50), ms(r.lat.P99), r.failures, us(r.edgeCPU), us(r.clientCPU), r.udpPerReq, r.udpDrops, r.otherPct, r.load)
	}
	fmt.Println()
	fmt.Println("| size | h3 / h2 req/s | h3 / h2 p99 | h3 / h2 edge CPU per request | h3 / h2 client CPU per request |")
	fmt.Println("|---|---|---|---|---|")
	for _, size := range sizes {
		var rps, p99, edge, client []float64
		for round := 1; ; round++ {
			a, b, ok := pair(rs, size, round)
			if !ok {
				break
			}
			rps = append(rps, a.rps/b.rps)
			p99 = append(p99, float64(a.lat.P99)/float64(b.lat.P99))
			edge = append(edge, float64(a.edgeCPU)/float64(b.edgeCPU))
			client = append(client, float64(a.clientCPU)/float64(b.clientCPU))
		}
		fmt.Printf("| %s | **%.2fx** | %.2fx | %.2fx | %.2fx |\n", sizeName(size), median(rps), median(p99), median(edge), median(client))
	}
	fmt.Println()
	fmt.Println("Ratios are medians over the rounds of each round's h3 / h2 pair.")
	fmt.Println()
}

// pair finds the h3 and h2 loads of one size and round.
func pair(rs []result, size, round int) (h3r, h2r result, ok bool) {
	var n int
	for _, r := range rs {
		if r.size != size || r.round != round {
			continue
		}
		if r.proto == h3 {
			h3r = r
		} else {
			h2r = r
		}
		n++
	}
	return h3r, h2r, n == 2
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}
