package livestats

import (
	"slices"
	"testing"
	"time"
)

// fakeClock is the Window's clock in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestWindow(seconds int) (*Window, *fakeClock) {
	w := NewWindow(seconds)
	clk := &fakeClock{t: t0}
	w.now = clk.now
	return w, clk
}

// nodeSample records durations of domain on a fresh Recorder, as one node's second.
func nodeSample(node string, sec int64, domain string, hits int, durations ...time.Duration) Sample {
	r := NewRecorder()
	r.SetDomains([]string{domain})
	r.Sample(time.Unix(sec-1, 0))
	for i, d := range durations {
		class := "miss"
		if i < hits {
			class = "hit"
		}
		r.Request(req(domain, class, 200, 100, d))
	}
	s := r.Sample(time.Unix(sec, 0))
	s.Node, s.POP = node, "fra"
	return s
}

func repeat(d time.Duration, n int) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }

// TestWindowMergesNodes checks a domain served by two nodes in one second: counters summed,
// the hit ratio recomputed, and percentiles from the merged histogram — which differ from
// any average of the nodes' own percentiles.
func TestWindowMergesNodes(t *testing.T) {
	w, _ := newTestWindow(60)
	sec := t0.Unix()
	// n1: 90 fast hits; n2: 10 slow misses. Across both, p50 is fast and p99 slow.
	w.Add(nodeSample("n1", sec, "img", 90, repeat(time.Millisecond, 90)...))
	w.Add(nodeSample("n2", sec, "img", 0, repeat(200*time.Millisecond, 10)...))

	pts := w.Domains()["img"]
	if len(pts) != 1 {
		t.Fatalf("points %+v", pts)
	}
	p := pts[0]
	if p.Time != sec || p.Nodes != 2 || p.Requests != 100 || p.Hits != 90 || p.Bytes != 10000 || p.RequestHitRatio != 0.9 {
		t.Errorf("merged %+v", p)
	}
	inBucket := func(name string, gotMs float64, d time.Duration) {
		lo, hi := bucketBounds(bucketOf(d))
		if gotMs < millis(lo) || gotMs > millis(hi) {
			t.Errorf("%s = %v ms, want in [%v, %v) of %v", name, gotMs, lo, hi, d)
		}
	}
	inBucket("p50", p.P50, time.Millisecond)
	inBucket("p90", p.P90, time.Millisecond)
	inBucket("p99", p.P99, 200*time.Millisecond)

	l := w.Latest()
	if lp := l.Domains["img"]; lp.Requests != 100 || lp.P99 != p.P99 || lp.Nodes != 2 {
		t.Errorf("latest img %+v", lp)
	}
	if l.Totals.Requests != 100 || len(l.Nodes) != 2 || l.Nodes["n2"].Requests != 10 || l.Nodes["n1"].POP != "fra" {
		t.Errorf("latest %+v", l)
	}
}

// TestWindowSeries checks the seconds kept: oldest first, at most the window's length per
// node, a redelivered second applied once, and a late sample put in its place.
func TestWindowSeries(t *testing.T) {
	w, _ := newTestWindow(3)
	sec := t0.Unix()
	for _, s := range []int64{sec, sec + 2, sec + 1, sec + 3, sec + 3} { // +1 late, +3 twice
		w.Add(nodeSample("n1", s, "img", 0, time.Millisecond))
	}
	w.Add(nodeSample("n2", sec+3, "img", 0, time.Millisecond))
	ns := w.Nodes()["n1"].Points
	if got := []int64{ns[0].Time, ns[1].Time, ns[2].Time}; len(ns) != 3 || !slices.Equal(got, []int64{sec + 1, sec + 2, sec + 3}) {
		t.Fatalf("n1 seconds %+v", ns)
	}
	var reqs []uint64
	for _, p := range w.Domains()["img"] {
		reqs = append(reqs, p.Requests)
	}
	if !slices.Equal(reqs, []uint64{1, 1, 2}) {
		t.Errorf("img requests by second %v, want [1 1 2]", reqs)
	}
	sn := w.Snapshot()
	if len(sn.Totals) != 3 || sn.Totals[2].Nodes != 2 || sn.Seconds != 3 || len(sn.Nodes) != 2 {
		t.Errorf("snapshot %+v", sn)
	}
}

func TestWindowExpiresNodes(t *testing.T) {
	w, clk := newTestWindow(10)
	sec := t0.Unix()
	w.Add(nodeSample("quiet", sec, "img", 0, time.Millisecond))
	clk.advance(5 * time.Second)
	w.Add(nodeSample("busy", sec+5, "img", 0, time.Millisecond))
	clk.advance(4 * time.Second) // quiet last heard 9 s ago
	if l := w.Latest(); len(l.Nodes) != 2 || l.Domains["img"].Requests != 2 {
		t.Fatalf("before expiry %+v", l)
	}
	clk.advance(time.Second)
	l := w.Latest()
	if _, ok := l.Nodes["quiet"]; ok || len(l.Nodes) != 1 || l.Domains["img"].Requests != 1 {
		t.Errorf("after 10 s of silence %+v", l)
	}
	if pts := w.Domains()["img"]; len(pts) != 1 || pts[0].Time != sec+5 {
		t.Errorf("series keep the quiet node: %+v", pts)
	}
	clk.advance(time.Hour)
	if len(w.Nodes()) != 0 || len(w.Domains()) != 0 || w.Latest().Totals.Requests != 0 {
		t.Error("nodes outlived the window")
	}
}

// TestWindowIgnoresForeignBuckets: a sample from a node with another bucket layout must not
// corrupt the merge.
func TestWindowIgnoresForeignBuckets(t *testing.T) {
	w, _ := newTestWindow(5)
	s := nodeSample("n1", t0.Unix(), "img", 0, time.Millisecond)
	d := s.Domains["img"]
	d.Hist = append(d.Hist, [2]uint64{nBuckets + 10, 5})
	s.Domains["img"] = d
	w.Add(s)
	w.Add(Sample{Time: t0.Unix()}) // no node name: dropped
	if l := w.Latest(); l.Domains["img"].Requests != 1 || len(l.Nodes) != 1 {
		t.Errorf("%+v", l)
	}
}
