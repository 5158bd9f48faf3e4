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
)

// Edge is a fake admin.Edge that records what it is asked. Its zero value is ready to use: it
// accepts every purge, prefetches every URL with status 200, reloads without error and is ready.
// Set the fields before the first call; they are not guarded.
type Edge struct {
	// PrefetchFunc, when set, answers Prefetch; the default answers 200 "miss" with len(url) bytes,
	// or 404 for a URL containing "/missing".
	PrefetchFunc func(ctx context.Context, rawURL string) admin.PrefetchResult
	ReloadErr    error            // what Reload returns
	Now          func() time.Time // PurgeResult.At; default a fixed instant
	NotReady     atomic.Bool      // Ready reports !NotReady

	mu         sync.Mutex
	purges     []admin.PurgeRequest
	prefetched []string
	reloads    int
}

var _ admin.Edge = (*Edge)(nil)

// FixedTime is PurgeResult.At when Edge.Now is not set.
var FixedTime = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// Purge records req. A target containing a space is refused, as a malformed one would be.
func (e *Edge) Purge(req admin.PurgeRequest) (admin.PurgeResult, error) {
	for _, t := range req.Targets {
		if strings.ContainsAny(t, " \t") {
			return admin.PurgeResult{}, fmt.Errorf("bad %s target %q: contains white space", req.Kind, t)
		}
	}
	e.mu.Lock()
	e.purges = append(e.purges, req)
	e.mu.Unlock()
	at := FixedTime
	if e.Now != nil {
		at = e.Now()
	}
	return admin.PurgeResult{Kind: req.Kind, Targets: len(req.Targets), Soft: req.Soft, At: at}, nil
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

// Ready reports !NotReady.
func (e *Edge) Ready() bool { return !e.NotReady.Load() }

// Purges returns the purge requests applied so far, oldest first.
func (e *Edge) Purges() []admin.PurgeRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]admin.PurgeRequest(nil), e.purges...)
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
