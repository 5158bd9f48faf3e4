package control

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// PrefetchAnswer is what a prefetch through the control plane did, node by node. Each node
// fetched the URLs it owns in its POP; a POP without a cluster is one node, which fetches all.
type PrefetchAnswer struct {
	ID       string           `json:"id"`
	URLs     int              `json:"urls"`
	Nodes    []PrefetchReport `json:"nodes"`
	Missing  []string         `json:"missing"` // live nodes that did not report in time
	Failed   int              `json:"failed"`  // URL fetches that failed, over every node
	Complete bool             `json:"complete"`
}

type prefetchTable struct {
	mu   sync.Mutex
	byID map[string]*prefetchRecord
}

type prefetchRecord struct {
	expected map[string]bool
	reports  []PrefetchReport
	done     chan struct{}
}

func newPrefetchTable() *prefetchTable { return &prefetchTable{byID: map[string]*prefetchRecord{}} }

func (s *Server) onPrefetchReport(m *nats.Msg) {
	var r PrefetchReport
	if err := json.Unmarshal(m.Data, &r); err != nil {
		s.log.Warn("control: unreadable prefetch report", "err", err)
		return
	}
	t := s.pfs
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.byID[r.ID]
	if rec == nil {
		return
	}
	rec.reports = append(rec.reports, r)
	if rec.expected[r.Node] {
		delete(rec.expected, r.Node)
		if len(rec.expected) == 0 {
			close(rec.done)
		}
	}
}

// Prefetch asks every live node to fetch the URLs it owns in its POP and waits up to timeout
// for their reports.
func (s *Server) Prefetch(ctx context.Context, urls []string, timeout time.Duration) (PrefetchAnswer, error) {
	o := PrefetchOrder{ID: purge.NewID(), URLs: urls}
	live, _ := s.liveNodes()
	rec := &prefetchRecord{expected: map[string]bool{}, done: make(chan struct{})}
	for _, n := range live {
		rec.expected[n] = true
	}
	if len(live) == 0 {
		close(rec.done)
	}
	s.pfs.mu.Lock()
	s.pfs.byID[o.ID] = rec
	s.pfs.mu.Unlock()
	defer func() {
		s.pfs.mu.Lock()
		delete(s.pfs.byID, o.ID)
		s.pfs.mu.Unlock()
	}()
	data, _ := json.Marshal(o)
	if err := s.nc.Publish(PrefetchSubject, data); err != nil {
		return PrefetchAnswer{}, fmt.Errorf("control: publishing the prefetch: %w", err)
	}
	select {
	case <-rec.done:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	s.pfs.mu.Lock()
	defer s.pfs.mu.Unlock()
	a := PrefetchAnswer{ID: o.ID, URLs: len(urls), Nodes: append([]PrefetchReport{}, rec.reports...), Missing: []string{}}
	for n := range rec.expected {
		a.Missing = append(a.Missing, n)
	}
	sort.Strings(a.Missing)
	sort.Slice(a.Nodes, func(i, j int) bool { return a.Nodes[i].Node < a.Nodes[j].Node })
	for _, r := range a.Nodes {
		a.Failed += r.Failed
	}
	a.Complete = len(a.Missing) == 0
	return a, nil
}
