package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"
)

// Tally counts the outcomes of a batch of requests.
type Tally struct {
	mu       sync.Mutex
	Outcomes [3]int // by Outcome
	Errors   int
	Examples []string // the first few unexpected answers, for the log
}

func (t *Tally) add(o Outcome, cs string, err error, want Outcome, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.Errors++
		t.example(fmt.Sprintf("%s: %v", path, err))
		return
	}
	t.Outcomes[o]++
	if want != Other && o != want {
		t.example(fmt.Sprintf("%s: Cache-Status %q", path, cs))
	}
}

func (t *Tally) example(s string) {
	if len(t.Examples) < 5 {
		t.Examples = append(t.Examples, s)
	}
}

// getAll requests prefix+i for every i in idx with conc requests in flight.
func getAll(c *Client, prefix string, idx []int, conc int, want Outcome) *Tally {
	t := &Tally{}
	next := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				p := prefix + strconv.Itoa(i)
				o, cs, _, err := c.Get(p)
				t.add(o, cs, err, want, p)
			}
		})
	}
	for _, i := range idx {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, e := range t.Examples {
		fmt.Fprintln(os.Stderr, "ops: unexpected:", e)
	}
	return t
}

// runFill requests prefix0 .. prefix<n-1> once each, so the edge fetches and stores them.
func runFill(out io.Writer, c *Client, prefix string, n, conc int) error {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	start := time.Now()
	t := getAll(c, prefix, idx, conc, Other)
	d := time.Since(start)
	fmt.Fprintf(out, "RESULT n=%d hits=%d misses=%d other=%d errors=%d duration_s=%.2f rate=%.0f\n",
		n, t.Outcomes[Hit], t.Outcomes[Miss], t.Outcomes[Other], t.Errors, d.Seconds(), float64(n)/d.Seconds())
	if t.Errors > 0 {
		return fmt.Errorf("fill: %d of %d requests failed", t.Errors, n)
	}
	return nil
}

// runSample requests k distinct random objects of prefix0 .. prefix<n-1> and counts how many
// were not what want says (hit or miss).
func runSample(out io.Writer, c *Client, prefix string, n, k, conc int, want string, seed int64) error {
	var w Outcome
	switch want {
	case "hit":
		w = Hit
	case "miss":
		w = Miss
	default:
		return fmt.Errorf("sample: -want %q (hit or miss)", want)
	}
	idx := SampleIndices(n, k, seed)
	t := getAll(c, prefix, idx, conc, w)
	fmt.Fprintf(out, "RESULT k=%d want=%s hits=%d misses=%d other=%d errors=%d violations=%d\n",
		len(idx), want, t.Outcomes[Hit], t.Outcomes[Miss], t.Outcomes[Other], t.Errors, len(idx)-t.Outcomes[w])
	return nil
}

// SampleIndices is min(k, n) distinct integers of [0, n), the same for the same seed.
func SampleIndices(n, k int, seed int64) []int {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	return r.Perm(n)[:min(k, n)]
}
