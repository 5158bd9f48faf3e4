package main

import (
	"context"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/metrics"
)

// adminEdge lets the admin API drive an edge: it translates the API's types and reloads the
// file the edge started from.
type adminEdge struct {
	s       *edge.Server
	path    string // the configuration file; "" or a name like "(command line)" when there is none
	metrics *metrics.Metrics
}

var _ admin.Edge = adminEdge{}

func (a adminEdge) Purge(r admin.PurgeRequest) (admin.PurgeResult, error) {
	res, err := a.s.Purge(edge.PurgeRequest{Kind: r.Kind, Targets: r.Targets, Soft: r.Soft, Domain: r.Domain})
	if err == nil && a.metrics != nil {
		a.metrics.Purge(r.Kind, r.Soft)
	}
	return admin.PurgeResult{Kind: res.Kind, Targets: res.Targets, Soft: res.Soft, At: res.At}, err
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

func (a adminEdge) Reload() error { return reloadFile(a.path, a.s, a.metrics) }
func (a adminEdge) Ready() bool   { return a.s.Ready() }
