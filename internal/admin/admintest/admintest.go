// Package admintest provides an in-process fake of the edge behind the admin API, for tests of
// the admin package and of the programs that talk to it.
package admintest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// Edge is a fake admin.Edge that records what it is asked. Its zero value is ready to use: it
// accepts every purge, prefetches every URL with status 200, reloads without error and is ready.
// Set the fields before the first call; they are not guarded.
type Edge struct {
	// PrefetchFunc, when set, answers Prefetch; the default answers 200 "miss" with len(url) bytes,
	// or 404 for a URL containing "/missing".
	PrefetchFunc func(ctx context.Context, rawURL string) admin.PrefetchResult
	ReloadErr    error            // what Reload returns
	Now          func() time.Time // unused by Purge (the admin API sets a purge's issue time); kept for callers
	NotReady     atomic.Bool      // Ready reports !NotReady

	mu sync.Mutex
	// Cached are the URL targets the fake holds a copy of: a URL purge reports them as found.
	Cached map[string]bool

	purges     []purge.Purge
	prefetched []string
	reloads    int
}

var _ admin.Edge = (*Edge)(nil)

// FixedTime is a fixed instant for tests' clocks.
var FixedTime = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// Purge records p. A target containing a space is refused, as a malformed one would be; an ID
// seen before is answered as already applied.
func (e *Edge) Purge(p purge.Purge) (purge.Result, error) {
	for _, t := range p.Targets {
		if strings.ContainsAny(t, " \t") {
			return purge.Result{}, fmt.Errorf("bad %s target %q: contains white space", p.Kind, t)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	applied := true
	for _, q := range e.purges {
		if q.ID == p.ID {
			applied = false
		}
	}
	if applied {
		e.purges = append(e.purges, p)
	}
	res := purge.Result{ID: p.ID, Node: "fake", Kind: p.Kind, Targets: len(p.Targets), Soft: p.Soft, Issued: p.Issued,
		Applied: applied, BanVersion: uint64(len(e.purges))}
	if applied && p.Kind == purge.URL {
		for _, t := range p.Targets {
			res.Cached = append(res.Cached, e.Cached[t])
		}
	}
	return res, nil
}

// Prefetch records rawURL and answers through PrefetchFunc or the default.
func (e *Edge) Prefetch(ctx context.Context, rawURL string) admin.PrefetchResult {
	e.mu.Lock()
	e.prefetched = append(e.prefetched, rawURL)
	e.mu.Unlock()
	if e.PrefetchFunc != nil {
		return e.PrefetchFunc(ctx, rawURL)
	}
	if strings.Contains(rawURL, "/missing") {
		return admin.PrefetchResult{URL: rawURL, Status: 404, CacheStatus: "miss", Error: "origin answered 404"}
	}
	return admin.PrefetchResult{URL: rawURL, Status: 200, CacheStatus: "miss; stored", Bytes: int64(len(rawURL)), DurationMS: 1.5}
}

// Reload counts the call and returns ReloadErr.
func (e *Edge) Reload() error {
	e.mu.Lock()
	e.reloads++
	e.mu.Unlock()
	return e.ReloadErr
}

// ConfigVersion is a fixed name.
func (e *Edge) ConfigVersion() string { return "0123456789abcdef" }

// Ready reports !NotReady.
func (e *Edge) Ready() bool { return !e.NotReady.Load() }

// Purges returns the purge requests applied so far, oldest first.
func (e *Edge) Purges() []purge.Purge {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]purge.Purge(nil), e.purges...)
}

// Prefetched returns the URLs Prefetch was called with, in call order.
func (e *Edge) Prefetched() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.prefetched...)
}

// Reloads returns how many times Reload was called.
func (e *Edge) Reloads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloads
}

// ErrBadConfig is a ready-made ReloadErr.
var ErrBadConfig = errors.New(`/etc/pixcdn/edge.yaml:7: domains[0].origin.servers[0].url: scheme "ftp" is not http or https`)
