package livestats

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"
)

// Window keeps the last few seconds of every node's samples on the control side, and merges
// them by domain. Add and the read methods are safe for concurrent use; reads return copies.
//
// A node's samples are ordered by the second they cover, and Add of a second the node already
// sent replaces it, so a redelivered message is applied once. Merges are computed when read,
// from the samples kept, which keeps Add cheap and idempotent; the cost falls on the JSON
// snapshot, which is asked for rarely, while the event stream merges only the latest second.
type Window struct {
	seconds int
	now     func() time.Time // the clock that ages nodes out; tests replace it

	// The event stream's pace and bound; tests shorten them.
	every, heartbeat time.Duration
	streams          chan struct{}

	mu    sync.Mutex
	nodes map[string]*nodeState
}

type nodeState struct {
	pop     string
	seen    time.Time // the Window's clock at the last Add from the node
	samples []Sample  // by increasing Time, at most Window.seconds
}

// maxStreams bounds the event streams served at once: each holds a goroutine and merges the
// latest second every second. Past it a client is answered 503.
const maxStreams = 64

// NewWindow returns a Window that keeps each node's last seconds samples and forgets a node
// not heard from for as long (at least one second).
func NewWindow(seconds int) *Window {
	return &Window{
		seconds: max(seconds, 1), now: time.Now,
		every: time.Second, heartbeat: 15 * time.Second, streams: make(chan struct{}, maxStreams),
		nodes: map[string]*nodeState{},
	}
}

// NodePoint is one second of one node: its totals.
type NodePoint struct {
	Time     int64   `json:"time"`
	Interval float64 `json:"interval"`
	Totals
}

// NodeSeries is one node's kept seconds, oldest first.
type NodeSeries struct {
	POP    string      `json:"pop,omitempty"`
	Points []NodePoint `json:"points"`
}

// Point is one second merged across the nodes that reported it: counters summed, ratios and
// percentiles recomputed from the sums and the merged histograms.
type Point struct {
	Time  int64 `json:"time"`
	Nodes int   `json:"nodes"` // how many nodes' samples it merges
	Counters
}

// NodeLatest is a node's last second.
type NodeLatest struct {
	POP string `json:"pop,omitempty"`
	NodePoint
}

// Summary is the latest of the window, for a router's load view and the event stream: each
// live node's last sample, and by domain and in total the merge of those last samples (so a
// node whose newest second has not arrived yet counts with its previous one, rather than
// being missing from the sum).
type Summary struct {
	Time    int64                 `json:"time"` // the Window's clock, Unix seconds
	Nodes   map[string]NodeLatest `json:"nodes"`
	Domains map[string]Point      `json:"domains"`
	Totals  Point                 `json:"totals"`
	// TopURLs are the most asked URLs of the last topSeconds, over every node (estimated).
	TopURLs []URLCount `json:"top_urls"`
}

// topSeconds is how many seconds of samples the summary's top URLs cover.
const topSeconds = 10

// Snapshot is the whole window: every live node's seconds, and by domain and in total the
// seconds merged across nodes, oldest first. The newest second may still lack the nodes whose
// sample for it has not arrived.
type Snapshot struct {
	Time    int64                 `json:"time"`
	Seconds int                   `json:"seconds"`
	Nodes   map[string]NodeSeries `json:"nodes"`
	Domains map[string][]Point    `json:"domains"`
	Totals  []Point               `json:"totals"`
}

// Add takes one node's sample. A sample without a node name is dropped. The Window keeps s:
// the caller must not change its Domains afterwards (a freshly decoded message is fine).
func (w *Window) Add(s Sample) {
	if s.Node == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.expire(now)
	n := w.nodes[s.Node]
	if n == nil {
		n = &nodeState{}
		w.nodes[s.Node] = n
	}
	n.pop, n.seen = s.POP, now
	n.insert(s, w.seconds)
}

// insert puts s in its place by time, replacing a sample of the same second (a redelivery),
// and drops the oldest past keep.
func (n *nodeState) insert(s Sample, keep int) {
	i, found := slices.BinarySearchFunc(n.samples, s.Time, func(x Sample, t int64) int { return cmp.Compare(x.Time, t) })
	if found {
		n.samples[i] = s
		return
	}
	n.samples = slices.Insert(n.samples, i, s)
	if extra := len(n.samples) - keep; extra > 0 {
		n.samples = slices.Delete(n.samples, 0, extra)
	}
}

// expire forgets the nodes not heard from for the window's length. The caller holds mu.
func (w *Window) expire(now time.Time) {
	limit := time.Duration(w.seconds) * time.Second
	maps.DeleteFunc(w.nodes, func(_ string, n *nodeState) bool { return now.Sub(n.seen) >= limit })
}

// Nodes returns every live node's kept seconds.
func (w *Window) Nodes() map[string]NodeSeries {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.now())
	return w.nodeSeries()
}

// Domains returns, by domain, the seconds of the window merged across nodes.
func (w *Window) Domains() map[string][]Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.now())
	domains, _ := w.merged()
	return domains
}

// Latest returns the summary of the newest samples.
func (w *Window) Latest() Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.expire(now)
	return w.latest(now)
}

// Snapshot returns the whole window, read at one instant.
func (w *Window) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.expire(now)
	sn := Snapshot{Time: now.Unix(), Seconds: w.seconds, Nodes: w.nodeSeries()}
	sn.Domains, sn.Totals = w.merged()
	return sn
}

func (w *Window) nodeSeries() map[string]NodeSeries {
	out := make(map[string]NodeSeries, len(w.nodes))
	for name, n := range w.nodes {
		ns := NodeSeries{POP: n.pop, Points: make([]NodePoint, len(n.samples))}
		for i := range n.samples {
			ns.Points[i] = nodePoint(&n.samples[i])
		}
		out[name] = ns
	}
	return out
}

func nodePoint(s *Sample) NodePoint {
	return NodePoint{Time: s.Time, Interval: s.Interval, Totals: s.Totals}
}

// merge is a Point being summed.
type merge struct {
	counts
	time  int64
	nodes int
}

func (m *merge) point() Point { return Point{Time: m.time, Nodes: m.nodes, Counters: m.counters()} }

// addSample adds s to the total and to its domains' merges (byDomain[name], made as needed).
func addSample(total *merge, byDomain func(name string) *merge, s *Sample) {
	total.nodes++
	total.time = max(total.time, s.Time)
	for name, ds := range s.Domains {
		total.addStats(&ds)
		m := byDomain(name)
		m.addStats(&ds)
		m.nodes++
		m.time = max(m.time, s.Time)
	}
}

// merged sums the kept samples by second: by domain, and in total. Only the newest seconds of
// the window are merged (by the samples' own clock), so that the seconds of a node that went
// quiet do not stretch the series back. The caller holds mu.
func (w *Window) merged() (map[string][]Point, []Point) {
	var newest int64
	for _, n := range w.nodes {
		newest = max(newest, n.samples[len(n.samples)-1].Time)
	}
	from := newest - int64(w.seconds)
	bySecond := map[int64]*merge{}
	byDomain := map[string]map[int64]*merge{}
	for _, n := range w.nodes {
		for i := range n.samples {
			s := &n.samples[i]
			if s.Time <= from {
				continue
			}
			total := getMerge(bySecond, s.Time)
			addSample(total, func(name string) *merge {
				if byDomain[name] == nil {
					byDomain[name] = map[int64]*merge{}
				}
				return getMerge(byDomain[name], s.Time)
			}, s)
		}
	}
	domains := make(map[string][]Point, len(byDomain))
	for name, m := range byDomain {
		domains[name] = points(m)
	}
	return domains, points(bySecond)
}

func getMerge(m map[int64]*merge, t int64) *merge {
	if m[t] == nil {
		m[t] = &merge{time: t}
	}
	return m[t]
}

// points lists merges by time.
func points(m map[int64]*merge) []Point {
	out := make([]Point, 0, len(m))
	for _, t := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[t].point())
	}
	return out
}

// latest merges every node's last sample. The caller holds mu.
func (w *Window) latest(now time.Time) Summary {
	sum := Summary{Time: now.Unix(), Nodes: make(map[string]NodeLatest, len(w.nodes))}
	var total merge
	byDomain := map[string]*merge{}
	var tops [][]URLCount
	for name, n := range w.nodes {
		for i := max(len(n.samples)-topSeconds, 0); i < len(n.samples); i++ {
			if n.samples[i].Time > now.Unix()-topSeconds {
				tops = append(tops, n.samples[i].TopURLs)
			}
		}
		s := &n.samples[len(n.samples)-1]
		sum.Nodes[name] = NodeLatest{POP: n.pop, NodePoint: nodePoint(s)}
		addSample(&total, func(name string) *merge {
			if byDomain[name] == nil {
				byDomain[name] = &merge{}
			}
			return byDomain[name]
		}, s)
	}
	sum.Domains = make(map[string]Point, len(byDomain))
	for name, m := range byDomain {
		sum.Domains[name] = m.point()
	}
	sum.Totals = total.point()
	sum.TopURLs = mergeTop(tops, topReported)
	return sum
}
