package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pixcdn/pixcdn/internal/accesslog"
	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/cluster"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control/agent"
	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/livestats"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/store"
)

// node is one running edge process: the store, the edge's listeners, the admin listener,
// metrics and the access log, started in that order and stopped in reverse.
type node struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Cache
	cluster *cluster.Cluster // nil unless cfg.Cluster is enabled
	agent   *agent.Agent     // nil unless cfg.Control is enabled
	peer    *http.Server     // the peer endpoint, with the cluster
	edge    *edge.Server
	admin   *admin.Server
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	access  *accesslog.Logger
}

// running is what serve has started, for callers that wait on it (tests, the demo).
type running struct {
	edge      *edge.Server
	adminAddr string // "" without an admin listener
}

// serve runs a node until ctx is done, then stops it gracefully. ready, when set, is called
// once everything listens.
func serve(ctx context.Context, cfg *config.Config, stderr io.Writer, ready func(r running)) int {
	n, err := startNode(ctx, cfg, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return 0 // stopped while starting (waiting for NATS or purges): not a failure
		}
		fmt.Fprintln(stderr, "pixcdn:", err)
		return 1
	}
	sig := make(chan os.Signal, 1) // before ready: a signal sent once ready must not kill us
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sig)
	if ready != nil {
		r := running{edge: n.edge}
		if n.admin != nil {
			r.adminAddr = n.admin.Addr()
		}
		ready(r)
	}
	n.wait(ctx, sig)
	n.stop()
	return 0
}

// serveUntilSignal runs a node until SIGINT or SIGTERM.
func serveUntilSignal(cfg *config.Config, stderr io.Writer, ready func(r running)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, stderr, ready)
}

func startNode(ctx context.Context, cfg *config.Config, stderr io.Writer) (n *node, err error) {
	n = &node{cfg: cfg, log: newLogger(cfg.Log, stderr)}
	defer func() {
		if err != nil {
			n.stop()
		}
	}()
	setMemoryLimit(cfg, n.log)
	if n.store, err = store.Open(storeConfig(cfg, n.log)); err != nil {
		return n, fmt.Errorf("cache: %w", err)
	}
	n.reg = metrics.NewRegistry()
	n.metrics = metrics.New(n.reg)
	n.metrics.SetStoreStats(n.storeStats)
	opt := edge.Options{Logger: n.log}
	if cfg.Log.Metrics {
		opt.Metrics = n.metrics
	}
	if cfg.Log.AccessLog != "" {
		if n.access, err = accesslog.Open(accesslog.Config{Path: cfg.Log.AccessLog, Format: cfg.Log.AccessFormat}); err != nil {
			return n, fmt.Errorf("access log: %w", err)
		}
		opt.AccessLog = n.access
		n.metrics.SetAccessLogStats(n.access.Stats)
	}
	if cfg.Cluster.Enabled() {
		if n.cluster, err = cluster.New(clusterConfig(cfg, n.log)); err != nil {
			return n, err
		}
		opt.Picker = n.cluster
	}
	serving := cfg
	if cfg.Control.Enabled() {
		opt.Live = livestats.NewRecorder()
		sample := func(now time.Time) any {
			s := opt.Live.Sample(now)
			s.Node, s.POP = cfg.NodeName, cfg.POP
			return s
		}
		if n.agent, err = agent.New(agent.Config{Base: cfg, Logger: n.log, Owns: n.ownsForPrefetch, Sample: sample}); err != nil {
			return n, err
		}
		if serving, err = n.agent.Initial(ctx); err != nil {
			return n, fmt.Errorf("control: %w", err)
		}
	}
	if n.edge, err = edge.New(serving, n.store, opt); err != nil {
		return n, err
	}
	if n.agent != nil {
		// Before the listeners: the purges issued while the node was away are applied first.
		if err = n.agent.Start(ctx, agentEdge{adminEdge{s: n.edge, metrics: n.metrics}}); err != nil {
			return n, err
		}
	}
	n.metrics.SetOriginHealth(n.edge.OriginHealth)
	n.metrics.SetImageStats(n.edge.ImageStats)
	if cfg.Server.EventLoops != 0 {
		n.metrics.SetEventLoopStats(n.edge.EventLoopStats)
	}
	n.metrics.SetNodeInfo(func() metrics.NodeInfo {
		ni := n.edge.NodeInfo()
		ni.Control = n.controlInfo()
		return ni
	})
	if err = n.edge.Start(); err != nil {
		return n, fmt.Errorf("listen: %w", err)
	}
	if n.cluster != nil {
		n.metrics.SetPeerStats(n.peerStats, func() int { return len(n.cluster.Members()) })
	}
	if err = n.startPeer(); err != nil {
		return n, fmt.Errorf("peer endpoint: %w", err)
	}
	if err = n.startAdmin(); err != nil {
		return n, fmt.Errorf("admin: %w", err)
	}
	if n.agent != nil {
		adminAddr := ""
		if n.admin != nil {
			adminAddr = n.admin.Addr()
		}
		n.agent.SetAddrs(n.edge.Addr(), n.edge.TLSAddr(), adminAddr)
	}
	n.log.Info("edge listening", "http", n.edge.Addr(), "https", n.edge.TLSAddr(), "http3", n.edge.H3Addr(), "domains", len(n.edge.DomainNames()), "cache_dir", cfg.Cache.Dir)
	return n, nil
}

func (n *node) startAdmin() error {
	if n.cfg.Admin.Listen == "" {
		return nil
	}
	acfg := admin.Config{
		Listen: n.cfg.Admin.Listen, Token: n.cfg.Admin.Token, Logger: n.log,
		Metrics: promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}),
		Stats:   n.stats,
		Members: n.members,
		Status:  n.controlLines,
	}
	var err error
	if n.admin, err = admin.New(acfg, adminEdge{s: n.edge, path: n.cfg.File, metrics: n.metrics, cluster: n.cluster, agent: n.agent}); err != nil {
		return err
	}
	n.log.Info("admin listening", "addr", n.admin.Addr())
	return nil
}

// wait serves until ctx ends: SIGHUP reloads the configuration file (validated completely
// first; on any error the running configuration stays and the reason is logged), SIGUSR1
// reopens the access log (after logrotate moved it).
func (n *node) wait(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			if s == syscall.SIGUSR1 {
				n.reopenAccessLog()
			} else if err := reloadFile(n.cfg.File, n.edge, n.metrics, n.agent); err != nil {
				n.log.Error("reload failed; the running configuration stays", "err", err)
			}
		}
	}
}

func (n *node) reopenAccessLog() {
	if n.access == nil {
		return
	}
	if err := n.access.Reopen(); err != nil {
		n.log.Error("access log reopen failed", "err", err)
	}
}

// stop ends what started: the POP is told the node leaves (its keys move at once), then the
// listeners stop (in-flight requests get server.shutdown_timeout), then the access log
// (drained) and the store (its index written).
func (n *node) stop() {
	n.log.Info("shutting down", "timeout", n.cfg.Server.ShutdownTimeout.D())
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Server.ShutdownTimeout.D())
	defer cancel()
	if n.agent != nil {
		n.agent.Stop() // the control plane hears the node leave before it stops answering
	}
	if n.cluster != nil {
		if err := n.cluster.Leave(2 * time.Second); err != nil {
			n.log.Warn("cluster leave", "err", err)
		}
	}
	if n.peer != nil {
		n.peer.Shutdown(ctx)
	}
	if n.edge != nil {
		if err := n.edge.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			n.log.Warn("shutdown", "err", err)
		}
	}
	if n.admin != nil {
		n.admin.Close()
	}
	if n.access != nil {
		if err := n.access.Close(); err != nil {
			n.log.Warn("access log close", "err", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Warn("cache close", "err", err)
		}
	}
}

// clusterConfig is the cluster's configuration from the node's.
func clusterConfig(cfg *config.Config, log *slog.Logger) cluster.Config {
	cl := cfg.Cluster
	adv := cl.PeerAdvertise
	if adv == "" {
		adv = cl.PeerListen
	}
	return cluster.Config{
		Node: cfg.NodeName, Bind: cl.Bind, Join: cl.Join, Secret: cl.Secret, PeerAddr: adv,
		Parents: cl.Parents, HotRate: cl.HotRate, Logger: log,
	}
}

// startPeer serves the peer endpoint, where the POP's other nodes and lower tiers ask this node
// for what it owns.
func (n *node) startPeer() error {
	if n.cluster == nil {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.Cluster.PeerListen)
	if err != nil {
		return err
	}
	sc := n.cfg.Server
	n.peer = &http.Server{
		Handler: n.cluster.Handler(n.edge), ReadHeaderTimeout: sc.ReadHeaderTimeout.D(), IdleTimeout: sc.IdleTimeout.D(),
		ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	go n.peer.Serve(ln)
	n.log.Info("cluster", "node", n.cfg.NodeName, "peer", ln.Addr().String(), "gossip", n.cfg.Cluster.Bind,
		"join", n.cfg.Cluster.Join, "parents", n.cfg.Cluster.Parents)
	return nil
}

// stats is GET /stats: the edge's counters, the store's, the configuration version and, in
// a cluster, the members and what each peer was asked.
func (n *node) stats() any {
	s := map[string]any{"edge": n.edge.StatsSnapshot(), "store": n.store.Stats(), "config_version": n.edge.ConfigVersion()}
	if n.cluster != nil {
		s["cluster"] = map[string]any{"members": n.cluster.Members(), "peers": n.cluster.Stats()}
	}
	return s
}

// ownsForPrefetch says whether this node fetches rawURL when the control plane prefetches it:
// the URL's owner in the POP does, so each object is filled once per POP.
func (n *node) ownsForPrefetch(rawURL string) bool {
	return n.cluster == nil || n.cluster.OwnerOf(prefetchKey(rawURL)) == n.cfg.NodeName
}

// prefetchKey is the form of a URL every node of a POP hashes the same way: no scheme.
func prefetchKey(rawURL string) string {
	if _, rest, ok := strings.Cut(rawURL, "://"); ok {
		return rest
	}
	return rawURL
}

// controlLines are the /readyz lines about the control plane.
func (n *node) controlLines() []string {
	if n.agent == nil {
		return nil
	}
	st := n.agent.Status()
	link := "connected"
	if !st.Connected {
		link = "disconnected"
		if !st.DownSince.IsZero() {
			link += " since " + st.DownSince.UTC().Format(time.RFC3339) + " (serving the last good configuration)"
		}
	}
	lines := []string{"control " + link, fmt.Sprintf("control_version %d", st.Version), fmt.Sprintf("purge_seq %d", st.PurgeSeq)}
	if !st.CaughtUp {
		lines = append(lines, "purges catching up")
	}
	if st.Failed != 0 {
		lines = append(lines, fmt.Sprintf("control_refused %d %s", st.Failed, strings.ReplaceAll(st.FailedError, "\n", "; ")))
	}
	return lines
}

func (n *node) controlInfo() *metrics.ControlInfo {
	if n.agent == nil {
		return nil
	}
	st := n.agent.Status()
	return &metrics.ControlInfo{Connected: st.Connected, Version: st.Version, Failed: st.Failed, PurgeSeq: st.PurgeSeq}
}

func (n *node) peerStats() []metrics.PeerStats {
	var out []metrics.PeerStats
	for _, p := range n.cluster.Stats() {
		out = append(out, metrics.PeerStats{Peer: p.Peer, Requests: p.Requests, Errors: p.Errors, Bytes: p.Bytes, HeaderSeconds: p.HeaderTimeSeconds})
	}
	return out
}

// members names the live members of the node's POP (itself alone without a cluster).
func (n *node) members() []string {
	if n.cluster == nil {
		return []string{n.cfg.NodeName}
	}
	var out []string
	for _, m := range n.cluster.Members() {
		out = append(out, m.Name)
	}
	return out
}

func (n *node) storeStats() metrics.StoreStats {
	s := n.store.Stats()
	return metrics.StoreStats{
		MemoryBytes: s.MemoryBytes, MemoryObjects: s.MemoryObjects, DiskBytes: s.DiskBytes,
		DiskObjects: s.DiskObjects, Segments: s.Segments, MemoryEvictions: s.MemoryEvictions,
		DiskEvictions: s.DiskEvictions, CorruptDropped: s.CorruptDropped, WriteErrors: s.WriteErrors,
		DiskEvictedObjects: s.DiskEvictedObjects,
	}
}

// reloadFile re-reads path (the file the edge started from) into srv. With a control plane the
// file's own settings change and the control plane's domains stay.
func reloadFile(path string, srv *edge.Server, m *metrics.Metrics, a *agent.Agent) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no configuration file to reload (%s)", path)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if a != nil {
		if cfg, err = a.Rebase(cfg); err != nil {
			return err
		}
	}
	return applyConfig(srv, m, cfg)
}

// applyConfig swaps cfg into srv and drops the metrics of the domains it no longer has.
func applyConfig(srv *edge.Server, m *metrics.Metrics, cfg *config.Config) error {
	if err := srv.Reload(cfg); err != nil {
		return err
	}
	if m != nil {
		names := make([]string, len(cfg.Domains))
		for i, d := range cfg.Domains {
			names[i] = d.Name
		}
		m.RetainDomains(names)
	}
	return nil
}

// setMemoryLimit gives the Go runtime a soft memory limit of the memory tier plus headroom,
// so garbage from objects streaming through is collected before the heap doubles past the
// tier (GOGC alone lets it). GOMEMLIMIT in the environment wins.
func setMemoryLimit(cfg *config.Config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(cfg.Cache.MemorySize) + memoryHeadroom
	debug.SetMemoryLimit(limit)
	log.Debug("go memory limit", "bytes", limit)
}

// memoryHeadroom is what the process may use beyond the memory tier: connection buffers,
// in-flight bodies, the metadata memo, the disk index.
const memoryHeadroom = 128 << 20

func storeConfig(cfg *config.Config, log *slog.Logger) store.Config {
	c := cfg.Cache
	return store.Config{
		MemoryBytes:     int64(c.MemorySize),
		MemoryObjectMax: int64(c.MemoryObjectMax),
		Dir:             c.Dir,
		DiskBytes:       int64(c.DiskSize),
		SegmentBytes:    int64(c.SegmentSize),
		Logger:          log,
	}
}

func newLogger(lc config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
