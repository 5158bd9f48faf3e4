package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/livestats"
)

// Config configures the control plane.
type Config struct {
	Listen  string // HTTP API listen address; default 127.0.0.1:7070
	Token   string // bearer token of the API; required
	DataDir string // the embedded NATS server's storage (JetStream); required without NATS
	// NATS is an external NATS cluster (nats://...); "" runs the embedded server on NATSListen.
	NATS       string
	NATSListen string      // the embedded server's client address; default 127.0.0.1:4222
	NATSToken  string      // token the embedded server requires of clients; "" only on loopback
	Conn       ConnOptions // credentials and TLS for an external NATS (URLs is taken from NATS)
	Replicas   int         // replicas of the buckets and the stream on an external cluster; default 1
	// PurgeTimeout is how long a purge waits for every live node's acknowledgement by default.
	PurgeTimeout time.Duration
	// StatsWindow is how many seconds of live stats are kept per node and domain; default 300.
	StatsWindow int
	Logger      *slog.Logger
}

// Server is a running control plane.
type Server struct {
	cfg  Config
	log  *slog.Logger
	emb  *Embedded
	nc   *nats.Conn
	js   jetstream.JetStream
	top  *Topology
	http *http.Server
	ln   net.Listener

	mu      sync.Mutex
	nodes   map[string]*nodeEntry
	changed chan struct{} // closed and replaced whenever a node's status changes
	rewatch chan struct{} // a reconnection asks watchNodes for a new watch
	purges  *purgeTable
	pfs     *prefetchTable
	stats   *livestats.Window

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// nodeEntry is a node's last status, its revision in the nodes bucket, and when this process
// last heard from it (a local time, for liveness only).
type nodeEntry struct {
	NodeStatus
	rev   uint64
	heard time.Time
}

// Start runs the control plane: NATS (embedded or external), the buckets and the stream, the
// watchers of the nodes and their answers, and the HTTP API.
func Start(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:7070"
	}
	if cfg.PurgeTimeout == 0 {
		cfg.PurgeTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StatsWindow == 0 {
		cfg.StatsWindow = 300
	}
	if cfg.Token == "" {
		return nil, errors.New("control: the API needs a token (-token or $PIXCDN_CONTROL_TOKEN)")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, nodes: map[string]*nodeEntry{}, changed: make(chan struct{}), rewatch: make(chan struct{}, 1),
		purges: newPurgeTable(), pfs: newPrefetchTable(), stats: livestats.NewWindow(cfg.StatsWindow)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	conn := s.cfg.Conn
	conn.URLs, conn.Name, conn.Logger = s.cfg.NATS, "pixcdn-control", s.log
	onReconnect := conn.OnReconnect
	conn.OnReconnect = func() {
		s.kickNodesWatch()
		if onReconnect != nil {
			onReconnect()
		}
	}
	if s.cfg.NATS == "" {
		if s.cfg.DataDir == "" {
			return errors.New("control: -data DIR is required for the embedded NATS server")
		}
		var err error
		if s.emb, err = StartEmbedded(EmbeddedConfig{Listen: s.cfg.NATSListen, Dir: s.cfg.DataDir, Token: s.cfg.NATSToken}); err != nil {
			return err
		}
		conn.URLs, conn.Token = s.emb.URL(), s.cfg.NATSToken
		s.log.Info("control: embedded NATS", "url", s.emb.URL(), "data", s.cfg.DataDir)
	}
	var err error
	if s.nc, err = Connect(conn); err != nil {
		return err
	}
	if !WaitConnected(s.nc, 10*time.Second) {
		return fmt.Errorf("control: NATS %s does not answer", conn.URLs)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	if s.top, err = EnsureTopology(ctx, s.js, s.cfg.Replicas); err != nil {
		return err
	}
	if err := s.subscribe(); err != nil {
		return err
	}
	s.wg.Add(1)
	go s.watchNodes()
	return s.listen()
}

// subscribe listens for the nodes' answers and samples.
func (s *Server) subscribe() error {
	subs := []struct {
		subject string
		h       nats.MsgHandler
	}{
		{PurgeAckSubject, s.onPurgeAck},
		{PrefetchAckSubject, s.onPrefetchReport},
		{StatsSubjectPrefix + "*", s.onStats},
	}
	for _, sub := range subs {
		if _, err := s.nc.Subscribe(sub.subject, sub.h); err != nil {
			return fmt.Errorf("control: subscribe %s: %w", sub.subject, err)
		}
	}
	return s.nc.Flush()
}

func (s *Server) onStats(m *nats.Msg) {
	node := m.Subject[len(StatsSubjectPrefix):]
	s.mu.Lock()
	if e := s.nodes[node]; e != nil {
		e.heard = time.Now()
	}
	s.mu.Unlock()
	var sample livestats.Sample
	if err := json.Unmarshal(m.Data, &sample); err != nil {
		s.log.Debug("control: unreadable stats sample", "node", node, "err", err)
		return
	}
	s.stats.Add(sample)
}

// Stats is the live stats window: the last seconds of every node and domain.
func (s *Server) Stats() *livestats.Window { return s.stats }

// watchNodes follows the nodes bucket, with a new watch after every reconnection and every
// end of the watch. A watch does not end when NATS restarts: its ordered consumer is gone
// with the server and nats.go notices only after missed heartbeats, some 10-15 s later, during
// which the nodes' statuses (the versions a push waits for) would not arrive.
func (s *Server) watchNodes() {
	defer s.wg.Done()
	for s.ctx.Err() == nil {
		w, err := s.top.Nodes.WatchAll(s.ctx)
		if err != nil {
			s.log.Warn("control: nodes watch", "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		s.followNodes(w)
		w.Stop()
	}
}

// followNodes applies the watch's entries until it ends, the server stops or a reconnection
// asks for a new watch. Every resyncEvery it also reads the bucket itself: a watch's consumer
// lives on one NATS server, and when that server of a cluster dies the watch stalls, silently,
// until the client notices missed heartbeats.
func (s *Server) followNodes(w jetstream.KeyWatcher) {
	t := time.NewTicker(resyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.rewatch:
			return
		case <-t.C:
			s.resyncNodes(nil)
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				s.nodeChanged(e)
			}
		}
	}
}

// resyncEvery is how often the nodes bucket is read whole besides the watch.
const resyncEvery = 5 * time.Second

// resyncNodes reads the status of the nodes named (every node, for nil) from the bucket and
// applies what changed; an unchanged revision is no sign of life (nodeChanged).
func (s *Server) resyncNodes(names []string) {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	if names == nil {
		keys, err := s.top.Nodes.Keys(ctx)
		if err != nil {
			return // jetstream.ErrNoKeysFound, or NATS away: the watch goes on
		}
		names = keys
	}
	for _, k := range names {
		if e, err := s.top.Nodes.Get(ctx, k); err == nil {
			s.nodeChanged(e)
		}
	}
}

// kickNodesWatch asks watchNodes to watch again (after a reconnection).
func (s *Server) kickNodesWatch() {
	select {
	case s.rewatch <- struct{}{}:
	default:
	}
}

func (s *Server) nodeChanged(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := e.Key()
	if old := s.nodes[key]; old != nil && old.rev == e.Revision() {
		return // a new watch replaying the status this process has: no sign of life
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.nodes, key)
	} else {
		var st NodeStatus
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			s.log.Warn("control: unreadable node status", "key", key, "err", err)
			return
		}
		heard := time.Now()
		if time.Since(st.Updated) > LostAfter && s.nodes[key] == nil {
			heard = st.Updated // an old status replayed at start: not a sign of life
		}
		s.nodes[key] = &nodeEntry{NodeStatus: st, rev: e.Revision(), heard: heard}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// NodeView is a node as the API shows it.
type NodeView struct {
	NodeStatus
	Live      bool    `json:"live"`        // heard from within control.LostAfter and not stopped
	HeardAgoS float64 `json:"heard_ago_s"` // seconds since the last heartbeat or sample
}

// Nodes lists every known node, by POP and name.
func (s *Server) Nodes() []NodeView {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]NodeView, 0, len(s.nodes))
	for _, e := range s.nodes {
		out = append(out, NodeView{NodeStatus: e.NodeStatus, Live: e.live(now), HeardAgoS: now.Sub(e.heard).Seconds()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].POP != out[j].POP {
			return out[i].POP < out[j].POP
		}
		return out[i].Node < out[j].Node
	})
	return out
}

func (e *nodeEntry) live(now time.Time) bool {
	return e.State == NodeRunning && now.Sub(e.heard) < LostAfter
}

// liveNodes names the nodes expected to answer now, and the ones known but away.
func (s *Server) liveNodes() (live, away []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, e := range s.nodes {
		if e.live(now) {
			live = append(live, e.Node)
		} else {
			away = append(away, e.Node)
		}
	}
	sort.Strings(live)
	sort.Strings(away)
	return live, away
}

// Addr is the API's bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// NATSURL is the address of the NATS the control plane uses (the embedded server's, or the
// external one given).
func (s *Server) NATSURL() string {
	if s.emb != nil {
		return s.emb.URL()
	}
	return s.cfg.NATS
}

// Close stops the API, the watchers and, when embedded, the NATS server.
func (s *Server) Close() {
	s.cancel()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.http.Shutdown(ctx)
		cancel()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	s.wg.Wait()
	if s.emb != nil {
		s.emb.Close()
	}
}
