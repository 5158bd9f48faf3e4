package control

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// PurgeAnswer is what a purge through the control plane did: each node's acknowledgement as
// it came, the live nodes that did not answer within the deadline, and the nodes known but
// away (they apply it from the stream when they return, before serving).
type PurgeAnswer struct {
	ID        string     `json:"id"`
	Issued    time.Time  `json:"issued"`
	Kind      purge.Kind `json:"kind"`
	Targets   int        `json:"targets"`
	Soft      bool       `json:"soft,omitempty"`
	Seq       uint64     `json:"seq"` // its place in the purge stream
	Acks      []NodeAck  `json:"acks"`
	Missing   []string   `json:"missing"` // live nodes that did not answer in time
	Away      []string   `json:"away"`    // known nodes not live now
	PublishMS float64    `json:"publish_ms"`
	LastAckMS float64    `json:"last_ack_ms"` // from the publish to the last acknowledgement
	Complete  bool       `json:"complete"`    // every live node acknowledged
	published time.Time
}

// NodeAck is one node's acknowledgement of a purge.
type NodeAck struct {
	Node       string  `json:"node"`
	POP        string  `json:"pop"`
	MS         float64 `json:"ms"` // from the publish to its acknowledgement reaching the control plane
	Applied    bool    `json:"applied"`
	BanVersion uint64  `json:"ban_version"`
	Error      string  `json:"error,omitempty"`
	Late       bool    `json:"late,omitempty"` // after the answer was given (a node that returned)
	// Cached: for a URL purge, whether the node held a copy of each target (in order).
	Cached []bool `json:"cached,omitempty"`
}

// purgeTable keeps the purges in flight and the recent ones, for their acknowledgements.
type purgeTable struct {
	mu     sync.Mutex
	byID   map[string]*purgeRecord
	recent []string // IDs, oldest first, at most maxRecentPurges
}

const maxRecentPurges = 1000

type purgeRecord struct {
	answer   PurgeAnswer
	expected map[string]bool // live nodes not yet answered
	done     chan struct{}   // closed when expected is empty
	answered bool            // the API answered: later acks are late
}

func newPurgeTable() *purgeTable { return &purgeTable{byID: map[string]*purgeRecord{}} }

func (t *purgeTable) open(p purge.Purge, live, away []string) *purgeRecord {
	r := &purgeRecord{answer: PurgeAnswer{ID: p.ID, Issued: p.Issued, Kind: p.Kind, Targets: len(p.Targets), Soft: p.Soft,
		Acks: []NodeAck{}, Missing: []string{}, Away: away}, expected: map[string]bool{}, done: make(chan struct{})}
	if r.answer.Away == nil {
		r.answer.Away = []string{}
	}
	for _, n := range live {
		r.expected[n] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.byID[p.ID]; old != nil {
		return old // the same purge again: its record goes on
	}
	t.byID[p.ID] = r
	t.recent = append(t.recent, p.ID)
	if len(t.recent) > maxRecentPurges {
		delete(t.byID, t.recent[0])
		t.recent = t.recent[1:]
	}
	if len(r.expected) == 0 {
		close(r.done)
	}
	return r
}

// ack records a node's answer.
func (t *purgeTable) ack(a PurgeAck, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.byID[a.Result.ID]
	if r == nil {
		return
	}
	for _, x := range r.answer.Acks {
		if x.Node == a.Node {
			return // a redelivery answered again
		}
	}
	na := NodeAck{Node: a.Node, POP: a.POP, Applied: a.Result.Applied, BanVersion: a.Result.BanVersion, Error: a.Result.Error,
		Late: r.answered, Cached: a.Result.Cached}
	if !r.answer.published.IsZero() {
		na.MS = ms(at.Sub(r.answer.published))
	}
	r.answer.Acks = append(r.answer.Acks, na)
	if r.answer.Seq == 0 {
		r.answer.Seq = a.Seq
	}
	if r.expected[a.Node] {
		delete(r.expected, a.Node)
		if len(r.expected) == 0 {
			close(r.done)
		}
	}
}

// snapshot is the record's answer now, with the nodes still missing.
func (t *purgeTable) snapshot(r *purgeRecord, final bool) PurgeAnswer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if final {
		r.answered = true
	}
	a := r.answer
	a.Acks = append([]NodeAck(nil), a.Acks...)
	sort.Slice(a.Acks, func(i, j int) bool { return a.Acks[i].Node < a.Acks[j].Node })
	a.Missing = []string{}
	for n := range r.expected {
		a.Missing = append(a.Missing, n)
	}
	sort.Strings(a.Missing)
	a.Complete = len(a.Missing) == 0
	for _, x := range a.Acks {
		if !x.Late {
			a.LastAckMS = max(a.LastAckMS, x.MS)
		}
	}
	return a
}

func (t *purgeTable) get(id string) (PurgeAnswer, bool) {
	t.mu.Lock()
	r := t.byID[id]
	t.mu.Unlock()
	if r == nil {
		return PurgeAnswer{}, false
	}
	return t.snapshot(r, false), true
}

func (t *purgeTable) setPublished(r *purgeRecord, at time.Time, seq uint64, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.answer.published, r.answer.Seq, r.answer.PublishMS = at, seq, ms(took)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Server) onPurgeAck(m *nats.Msg) {
	at := time.Now()
	var a PurgeAck
	if err := json.Unmarshal(m.Data, &a); err != nil {
		s.log.Warn("control: unreadable purge ack", "err", err)
		return
	}
	s.purges.ack(a, at)
}

// Purge publishes p once to the purge stream and waits, up to timeout, for every live node's
// acknowledgement. p must be valid (purge.Validate).
func (s *Server) Purge(ctx context.Context, p purge.Purge, timeout time.Duration) (PurgeAnswer, error) {
	if timeout <= 0 {
		timeout = s.cfg.PurgeTimeout
	}
	live, away := s.liveNodes()
	rec := s.purges.open(p, live, away)
	data, err := json.Marshal(p)
	if err != nil {
		return PurgeAnswer{}, err
	}
	start := time.Now()
	s.purges.setPublished(rec, start, 0, 0) // an ack may come back before the stream's own
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ack, err := s.js.Publish(pctx, PurgeSubject, data, jetstream.WithMsgID(p.ID))
	cancel()
	if err != nil {
		return PurgeAnswer{}, fmt.Errorf("control: publishing the purge: %w", err)
	}
	s.purges.setPublished(rec, start, ack.Sequence, time.Since(start))
	select {
	case <-rec.done:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	ans := s.purges.snapshot(rec, true)
	s.log.Info("control: purge", "id", p.ID, "kind", p.Kind, "targets", len(p.Targets), "seq", ack.Sequence,
		"acks", len(ans.Acks), "missing", len(ans.Missing), "away", len(ans.Away), "last_ack_ms", ans.LastAckMS)
	return ans, nil
}

// PurgeStatus is a recent purge's answer as it stands now, late acknowledgements included.
func (s *Server) PurgeStatus(id string) (PurgeAnswer, bool) { return s.purges.get(id) }
