package livestats

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// URLCount is one of the most asked URLs of an interval: its requests and bytes, estimated
// from a sample of the requests (so a rare URL may be missing and counts are rounded).
type URLCount struct {
	URL      string `json:"url"` // host/path of the configured domain
	Requests uint64 `json:"requests"`
	Bytes    uint64 `json:"bytes"`
}

// topURLs finds the most asked URLs with bounded memory and a bounded cost per request: one
// request in sampleEvery is counted, into a space-saving table of topCapacity entries (a URL
// that arrives when it is full takes the place of the least counted one, with its count plus
// one: the heavy hitters stay, whatever the number of distinct URLs). The other requests cost
// one atomic add.
type topURLs struct {
	seen atomic.Uint64
	mu   sync.Mutex
	m    map[string]*urlEntry
}

type urlEntry struct{ n, bytes uint64 }

const (
	sampleEvery = 8
	topCapacity = 64
	topReported = 10
)

// note counts one request for domain's path, when it falls in the sample.
func (t *topURLs) note(domain, path string, bytes int64) {
	if t.seen.Add(1)%sampleEvery != 0 {
		return
	}
	key := domain + path
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*urlEntry, topCapacity)
	}
	e := t.m[key]
	if e == nil {
		if len(t.m) >= topCapacity {
			var minKey string
			var min *urlEntry
			for k, v := range t.m {
				if min == nil || v.n < min.n {
					minKey, min = k, v
				}
			}
			delete(t.m, minKey)
			e = &urlEntry{n: min.n} // space-saving: the newcomer inherits the evicted count
		} else {
			e = &urlEntry{}
		}
		t.m[key] = e
	}
	e.n++
	e.bytes += uint64(max(bytes, 0))
}

// take returns the interval's top URLs, scaled back from the sample, and starts a new interval.
func (t *topURLs) take() []URLCount {
	t.mu.Lock()
	m := t.m
	t.m = nil
	t.mu.Unlock()
	out := make([]URLCount, 0, len(m))
	for k, v := range m {
		out = append(out, URLCount{URL: k, Requests: v.n * sampleEvery, Bytes: v.bytes * sampleEvery})
	}
	sortTop(out)
	return out[:min(len(out), topReported)]
}

// sortTop orders by requests, then URL, most first.
func sortTop(u []URLCount) {
	slices.SortFunc(u, func(a, b URLCount) int {
		if a.Requests != b.Requests {
			if a.Requests > b.Requests {
				return -1
			}
			return 1
		}
		return strings.Compare(a.URL, b.URL)
	})
}

// mergeTop sums the top URLs of several samples and keeps the first n.
func mergeTop(lists [][]URLCount, n int) []URLCount {
	sum := map[string]*URLCount{}
	for _, l := range lists {
		for _, u := range l {
			if s := sum[u.URL]; s != nil {
				s.Requests, s.Bytes = s.Requests+u.Requests, s.Bytes+u.Bytes
			} else {
				c := u
				sum[u.URL] = &c
			}
		}
	}
	out := make([]URLCount, 0, len(sum))
	for _, u := range sum {
		out = append(out, *u)
	}
	sortTop(out)
	return out[:min(len(out), n)]
}
