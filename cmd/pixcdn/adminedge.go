package main

import (
	"context"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/cluster"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control/agent"
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
	cluster *cluster.Cluster // nil: a node alone
	agent   *agent.Agent     // nil: no control plane
}

var _ admin.Edge = adminEdge{}

// Purge applies p here, then on every other member of the POP (their copies of what this node
// owns, and what they own): until the control plane takes this over, a node's admin API
// purges its whole POP. The peers' answers come back in the result.
func (a adminEdge) Purge(p purge.Purge) (purge.Result, error) {
	res, err := a.s.Purge(p)
	if err == nil && res.Applied && a.metrics != nil {
		a.metrics.Purge(string(p.Kind), p.Soft)
	}
	if err != nil || a.cluster == nil {
		return res, err
	}
	p.ID, p.Issued = res.ID, res.Issued // the peers apply the same purge, as of the same time
	for _, pp := range a.cluster.Broadcast(context.Background(), p, peerPurgeTimeout) {
		r := pp.Result
		if pp.Err != nil {
			r = purge.Result{ID: p.ID, Node: pp.Node, Error: pp.Err.Error()}
		}
		res.Peers = append(res.Peers, r)
	}
	return res, nil
}

// peerPurgeTimeout bounds the wait for the POP's other nodes to apply a purge.
const peerPurgeTimeout = 5 * time.Second

func (a adminEdge) Prefetch(ctx context.Context, u string) admin.PrefetchResult {
	r := a.s.Prefetch(ctx, u)
	out := admin.PrefetchResult{URL: r.URL, Status: r.Status, CacheStatus: r.CacheStatus, Bytes: r.Bytes,
		DurationMS: float64(r.Duration.Microseconds()) / 1000}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return out
}

func (a adminEdge) Reload() error         { return reloadFile(a.path, a.s, a.metrics, a.agent) }
func (a adminEdge) Ready() bool           { return a.s.Ready() }
func (a adminEdge) ConfigVersion() string { return a.s.ConfigVersion() }

// agentEdge lets the control plane's agent drive the edge: a purge from the stream is applied
// here only (every node of the POP reads the stream itself), a version is swapped in.
type agentEdge struct{ adminEdge }

var _ agent.Edge = agentEdge{}

func (a agentEdge) Purge(p purge.Purge) (purge.Result, error) {
	res, err := a.s.Purge(p)
	if err == nil && res.Applied && a.metrics != nil {
		a.metrics.Purge(string(p.Kind), p.Soft)
	}
	return res, err
}

func (a agentEdge) Apply(cfg *config.Config) error { return applyConfig(a.s, a.metrics, cfg) }

func (a agentEdge) DomainNames() []string { return a.s.DomainNames() }
