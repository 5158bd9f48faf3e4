package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/config"
)

// ErrInvalid wraps a configuration the control plane refuses (the API answers 400 with it).
var ErrInvalid = errors.New("configuration refused")

// ErrNoVersion is a version the bucket does not hold (never pushed, or older than its history).
var ErrNoVersion = errors.New("no such version")

// VersionInfo describes one stored version (without its document).
type VersionInfo struct {
	Version    uint64    `json:"version"`
	SHA256     string    `json:"sha256"`
	Pushed     time.Time `json:"pushed"`
	Message    string    `json:"message,omitempty"`
	RollbackOf uint64    `json:"rollback_of,omitempty"`
	Bytes      int       `json:"bytes"`
	Current    bool      `json:"current,omitempty"`
}

// Push validates a domains document (every rule that does not need a node's own files) and
// stores it as the next version. A document that fails is refused with every problem, each
// naming file, line and field, and reaches no node.
func (s *Server) Push(ctx context.Context, doc []byte, name, message string) (uint64, error) {
	if err := config.CheckDomains(doc, name); err != nil {
		return 0, fmt.Errorf("%w:\n%w", ErrInvalid, err)
	}
	return s.store(ctx, Version{YAML: string(doc), Message: message})
}

func (s *Server) store(ctx context.Context, v Version) (uint64, error) {
	sum := sha256.Sum256([]byte(v.YAML))
	v.SHA256, v.Pushed = hex.EncodeToString(sum[:]), time.Now().UTC()
	data, _ := json.Marshal(v)
	rev, err := s.top.Config.Put(ctx, ConfigKey, data)
	if err != nil {
		return 0, fmt.Errorf("control: storing the version: %w", err)
	}
	s.log.Info("control: configuration version stored", "version", rev, "sha256", v.SHA256[:12], "rollback_of", v.RollbackOf, "message", v.Message)
	return rev, nil
}

// Version returns a stored version; rev 0 is the current one.
func (s *Server) Version(ctx context.Context, rev uint64) (uint64, Version, error) {
	var e jetstream.KeyValueEntry
	var err error
	if rev == 0 {
		e, err = s.top.Config.Get(ctx, ConfigKey)
	} else {
		e, err = s.top.Config.GetRevision(ctx, ConfigKey, rev)
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, Version{}, ErrNoVersion
	}
	if err != nil {
		return 0, Version{}, err
	}
	var v Version
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return 0, Version{}, fmt.Errorf("control: version %d unreadable: %w", e.Revision(), err)
	}
	return e.Revision(), v, nil
}

// History lists the stored versions, newest first.
func (s *Server) History(ctx context.Context) ([]VersionInfo, error) {
	es, err := s.top.Config.History(ctx, ConfigKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return []VersionInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, 0, len(es))
	for _, e := range es {
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		var v Version
		if json.Unmarshal(e.Value(), &v) != nil {
			continue
		}
		out = append(out, VersionInfo{Version: e.Revision(), SHA256: v.SHA256, Pushed: v.Pushed, Message: v.Message,
			RollbackOf: v.RollbackOf, Bytes: len(v.YAML)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	if len(out) > 0 {
		out[0].Current = true
	}
	return out, nil
}

// Rollback stores the document of version rev again, as a new version: versions only ever
// go forward, so every node orders them the same way.
func (s *Server) Rollback(ctx context.Context, rev uint64, message string) (uint64, error) {
	_, v, err := s.Version(ctx, rev)
	if err != nil {
		return 0, err
	}
	if err := config.CheckDomains([]byte(v.YAML), fmt.Sprintf("version %d", rev)); err != nil {
		return 0, fmt.Errorf("%w:\n%w", ErrInvalid, err)
	}
	if message == "" {
		message = fmt.Sprintf("rollback to version %d", rev)
	}
	return s.store(ctx, Version{YAML: v.YAML, Message: message, RollbackOf: rev})
}

// NodeVersion is where one node stands with a version.
type NodeVersion struct {
	Node    string  `json:"node"`
	POP     string  `json:"pop"`
	State   string  `json:"state"` // running (it serves the version or a newer one), failed (with error), pending
	Version uint64  `json:"version"`
	Error   string  `json:"error,omitempty"`
	MS      float64 `json:"ms,omitempty"` // from the wait's start to its report
}

// WaitVersion waits up to timeout for every live node to report rev as running or failed,
// and tells where each stands.
func (s *Server) WaitVersion(ctx context.Context, rev uint64, timeout time.Duration) []NodeVersion {
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// The watch brings the nodes' reports; reading the pending ones now and then as well keeps
	// the wait honest when the watch stalls (its NATS server of a cluster gone).
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	seen := map[string]float64{}
	for {
		s.mu.Lock()
		changed := s.changed
		out, pending := s.versionsLocked(rev, start, seen)
		s.mu.Unlock()
		if pending == 0 {
			return out
		}
		select {
		case <-changed:
		case <-poll.C:
			var names []string
			for _, n := range out {
				if n.State == "pending" {
					names = append(names, SubjectToken(n.Node))
				}
			}
			s.resyncNodes(names)
		case <-deadline.C:
			return out
		case <-ctx.Done():
			return out
		}
	}
}

func (s *Server) versionsLocked(rev uint64, start time.Time, seen map[string]float64) ([]NodeVersion, int) {
	now := time.Now()
	out := []NodeVersion{}
	pending := 0
	for _, e := range s.nodes {
		if !e.live(now) {
			continue
		}
		nv := NodeVersion{Node: e.Node, POP: e.POP, Version: e.Version, State: "pending"}
		switch {
		case e.Version >= rev:
			nv.State = "running"
		case e.Failed >= rev:
			nv.State, nv.Error = "failed", e.FailedError
		default:
			pending++
		}
		if nv.State != "pending" {
			if _, ok := seen[e.Node]; !ok {
				seen[e.Node] = ms(now.Sub(start))
			}
			nv.MS = seen[e.Node]
		}
		out = append(out, nv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, pending
}
