package main

import (
	"context"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// adminEdge lets the admin API drive an edge: it translates the API's types and reloads the
// file the edge started from.
type adminEdge struct {
	s       *edge.Server
	path    string // the configuration file; "" or a name like "(command line)" when there is none
	metrics *metrics.Metrics
}

var _ admin.Edge = adminEdge{}

func (a adminEdge) Purge(p purge.Purge) (purge.Result, error) {
	res, err := a.s.Purge(p)
	if err == nil && res.Applied && a.metrics != nil {
		a.metrics.Purge(string(p.Kind), p.Soft)
	}
	return res, err
}

func (a adminEdge) Prefetch(ctx context.Context, u string) admin.PrefetchResult {
	r := a.s.Prefetch(ctx, u)
	out := admin.PrefetchResult{URL: r.URL, Status: r.Status, CacheStatus: r.CacheStatus, Bytes: r.Bytes,
		DurationMS: float64(r.Duration.Microseconds()) / 1000}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return out
}

func (a adminEdge) Reload() error         { return reloadFile(a.path, a.s, a.metrics) }
func (a adminEdge) Ready() bool           { return a.s.Ready() }
func (a adminEdge) ConfigVersion() string { return a.s.ConfigVersion() }
