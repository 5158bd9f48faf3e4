// Package agent is a node's side of the control plane: it takes the domains' configuration
// from the control plane's bucket and swaps each new version in (keeping the last good one on
// disk), applies every purge of the purge stream through the node's own durable consumer and
// acknowledges it, prefetches what it owns when asked, and reports what it runs and its live
// counters. The node keeps serving when NATS is unreachable, on the last good configuration.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// Edge is what the agent drives on its node. All methods may be called concurrently.
type Edge interface {
	// Purge applies p on this node before it returns; an error is a purge this node cannot
	// apply (it does not serve the domain named), reported back, never retried.
	Purge(p purge.Purge) (purge.Result, error)
	// Prefetch fetches one URL into the cache through the fill path.
	Prefetch(ctx context.Context, rawURL string) admin.PrefetchResult
	// Apply swaps cfg in (built and validated already); on error the running one stays.
	Apply(cfg *config.Config) error
}

// Config configures an Agent.
type Config struct {
	Base   *config.Config // the node's own configuration: its name, POP, control section, and the domains it serves until the control plane's first version
	HTTP   string         // addresses shown in the node's status (the router sends clients there)
	HTTPS  string
	Admin  string
	Owns   func(rawURL string) bool // whether this node fetches rawURL for its POP in a prefetch; nil = every URL
	Sample func(now time.Time) any  // one live-stats sample (JSON), published every second; nil = none
	Logger *slog.Logger
	// ConnectWait bounds how long starting waits for NATS before serving the last good
	// configuration; default 3s.
	ConnectWait time.Duration
	// CatchUpTimeout bounds how long starting waits to apply the purges the node missed;
	// default 30s.
	CatchUpTimeout time.Duration
	// Interval of heartbeats (status rewrites); default control.Heartbeat.
	Heartbeat time.Duration
}

// Agent connects one node to the control plane.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	node  string
	pop   string // fixed at start, as the node's name is
	nc    *nats.Conn
	js    jetstream.JetStream
	store stateStore

	mu sync.Mutex
	// statusMu orders status reports: each snapshot is written before the next is taken, so
	// an older one (e.g. before the listeners were named) never lands after a newer one.
	statusMu sync.Mutex
	edge     Edge
	serving  uint64 // the version serving; 0 = the file's domains
	doc      []byte // its document; nil for the file's domains
	hash     string // config.Config.Version of what serves
	failed   uint64 // the newest version that did not build here
	failMsg  string
	kept     state // what the state directory holds
	started  time.Time
	purgeSeq atomic.Uint64
	nodesKV  jetstream.KeyValue // the nodes bucket, bound once; nil until then or after a failed put

	connected  atomic.Bool
	downSince  atomic.Int64 // unix nanoseconds NATS was lost at; 0 while connected
	caughtUp   chan struct{}
	caughtOnce sync.Once
	resync     chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	prefetches sync.WaitGroup
}

// New connects to NATS (in the background: New does not wait for it) and reads the state
// directory.
func New(cfg Config) (*Agent, error) {
	if cfg.Base == nil || !cfg.Base.Control.Enabled() {
		return nil, errors.New("agent: no control section")
	}
	if cfg.ConnectWait == 0 {
		cfg.ConnectWait = 3 * time.Second
	}
	if cfg.CatchUpTimeout == 0 {
		cfg.CatchUpTimeout = 30 * time.Second
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = control.Heartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, node: cfg.Base.NodeName, pop: cfg.Base.POP, store: stateStore{cfg.Base.StateDirOrDefault()},
		caughtUp: make(chan struct{}), resync: make(chan struct{}, 1), started: time.Now()}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.downSince.Store(time.Now().UnixNano())
	cc := cfg.Base.Control
	nc, err := control.Connect(control.ConnOptions{
		URLs: cc.NATS, Name: "pixcdn-edge " + a.node, User: cc.User, Password: cc.Password, Token: cc.Token,
		CA: cc.CA, Cert: cc.Cert, Key: cc.Key, Logger: a.log, OnReconnect: a.kick,
	})
	if err != nil {
		return nil, err
	}
	nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
		if a.ctx.Err() != nil {
			return // Stop closed it
		}
		a.markDown()
		a.log.Warn("control: NATS unreachable; serving the last good configuration", "err", err)
	})
	a.nc = nc
	if a.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) markDown() {
	a.connected.Store(false)
	a.downSince.CompareAndSwap(0, time.Now().UnixNano())
}

// kick asks the session to start again: after a reconnection the watch and the consumer are
// re-established and the configuration resynchronised from the bucket's revision (a watch can
// end silently across a reconnect).
func (a *Agent) kick() {
	select {
	case a.resync <- struct{}{}:
	default:
	}
}

// Status is what the node says about its link to the control plane (readyz, metrics).
type Status struct {
	Connected   bool      `json:"connected"`
	DownSince   time.Time `json:"down_since,omitzero"`
	Version     uint64    `json:"version"`
	Failed      uint64    `json:"failed,omitempty"`
	FailedError string    `json:"failed_error,omitempty"`
	PurgeSeq    uint64    `json:"purge_seq"`
	CaughtUp    bool      `json:"caught_up"` // every purge issued before the node (re)joined is applied
}

// Status reports the link's state now.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Connected: a.connected.Load(), Version: a.serving, Failed: a.failed, FailedError: a.failMsg, PurgeSeq: a.purgeSeq.Load()}
	if ns := a.downSince.Load(); ns != 0 && !s.Connected {
		s.DownSince = time.Unix(0, ns)
	}
	select {
	case <-a.caughtUp:
		s.CaughtUp = true
	default:
	}
	return s
}

// Initial chooses the configuration the node starts on: the control plane's current version
// when NATS answers within ConnectWait and it builds here; else the last good version kept on
// disk; else the file's own domains; else (a node with no domains of its own) it waits for the
// control plane's first version until ctx ends.
func (a *Agent) Initial(ctx context.Context) (*config.Config, error) {
	st, doc, err := a.store.load()
	if err != nil {
		a.log.Warn("control: kept state unreadable; starting without it", "dir", a.store.dir, "err", err)
	}
	a.kept = st
	a.purgeSeq.Store(st.PurgeSeq)
	var keptCfg *config.Config
	if doc != nil {
		if keptCfg, err = a.cfg.Base.WithDomains(doc, fmt.Sprintf("control v%d (kept in %s)", st.Version, a.store.dir)); err != nil {
			a.log.Warn("control: the kept version no longer builds here", "version", st.Version, "err", err)
			keptCfg = nil
		}
	}
	if control.WaitConnected(a.nc, a.cfg.ConnectWait) {
		if cfg, ok := a.fetchCurrent(ctx, keptCfg, doc, st.Version); ok {
			return cfg, nil
		}
	} else {
		a.log.Warn("control: NATS unreachable at start", "nats", a.cfg.Base.Control.NATS, "waited", a.cfg.ConnectWait)
	}
	switch {
	case keptCfg != nil:
		a.setServing(st.Version, keptCfg, doc)
		a.log.Info("control: serving the kept version", "version", st.Version)
		return keptCfg, nil
	case len(a.cfg.Base.Domains) > 0:
		a.setServing(0, a.cfg.Base, nil)
		return a.cfg.Base, nil
	}
	a.log.Info("control: waiting for the control plane's first configuration", "nats", a.cfg.Base.Control.NATS)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		if cfg, ok := a.fetchCurrent(ctx, nil, nil, 0); ok {
			return cfg, nil
		}
	}
}

// fetchCurrent reads the bucket's current version and builds it; ok is false when there is
// none, NATS does not answer, or it does not build here (then kept, of version keptVer, is
// used when it is that very version).
func (a *Agent) fetchCurrent(ctx context.Context, kept *config.Config, keptDoc []byte, keptVer uint64) (*config.Config, bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	kv, err := a.js.KeyValue(ctx, control.ConfigBucket)
	if err != nil {
		a.log.Warn("control: configuration bucket", "err", err)
		return nil, false
	}
	e, err := kv.Get(ctx, control.ConfigKey)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			a.log.Warn("control: configuration", "err", err)
		}
		return nil, false
	}
	if kept != nil && e.Revision() == keptVer {
		a.setServing(keptVer, kept, keptDoc)
		return kept, true
	}
	cfg, doc, err := a.build(a.cfg.Base, e.Revision(), e.Value())
	if err != nil {
		a.refused(e.Revision(), err)
		return nil, false
	}
	a.setServing(e.Revision(), cfg, doc)
	a.keep(e.Revision(), doc)
	return cfg, true
}

// build decodes a stored version and builds it on this node's own configuration.
func (a *Agent) build(base *config.Config, rev uint64, raw []byte) (*config.Config, []byte, error) {
	var v control.Version
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, nil, fmt.Errorf("control v%d: not a stored version: %w", rev, err)
	}
	doc := []byte(v.YAML)
	cfg, err := base.WithDomains(doc, fmt.Sprintf("control v%d", rev))
	return cfg, doc, err
}

func (a *Agent) setServing(rev uint64, cfg *config.Config, doc []byte) {
	a.mu.Lock()
	a.serving, a.hash, a.doc = rev, cfg.Version(), doc
	if a.failed != 0 && a.failed <= rev {
		a.failed, a.failMsg = 0, ""
	}
	a.mu.Unlock()
}

func (a *Agent) refused(rev uint64, err error) {
	a.mu.Lock()
	a.failed, a.failMsg = rev, err.Error()
	a.mu.Unlock()
	a.log.Error("control: version refused here; the running configuration stays", "version", rev, "err", err)
}

// keep writes a version that serves to the state directory.
func (a *Agent) keep(rev uint64, doc []byte) {
	sum := sha256.Sum256(doc)
	a.mu.Lock()
	a.kept.Version, a.kept.SHA256 = rev, hex.EncodeToString(sum[:])
	st := a.kept
	a.mu.Unlock()
	st.PurgeSeq = a.purgeSeq.Load()
	if err := a.store.saveVersion(st, doc); err != nil {
		a.log.Warn("control: cannot keep the version on disk; a restart without NATS would serve an older one", "dir", a.store.dir, "err", err)
	}
}

// SetAddrs names the node's listeners in its status, once they are bound.
func (a *Agent) SetAddrs(http, https, admin string) {
	a.mu.Lock()
	a.cfg.HTTP, a.cfg.HTTPS, a.cfg.Admin = http, https, admin
	a.mu.Unlock()
	if a.nc.IsConnected() {
		go a.putStatus(a.ctx, control.NodeRunning)
	}
}

// Rebase builds what serves again on base, the node's own file read anew (SIGHUP): its
// settings change, the control plane's domains stay. It returns the configuration to swap in.
func (a *Agent) Rebase(base *config.Config) (*config.Config, error) {
	if !base.Control.Enabled() {
		return nil, errors.New("the file no longer has a control section: restart the node to leave the control plane")
	}
	a.mu.Lock()
	rev, doc := a.serving, a.doc
	a.mu.Unlock()
	cfg := base
	if doc != nil {
		var err error
		if cfg, err = base.WithDomains(doc, fmt.Sprintf("control v%d", rev)); err != nil {
			return nil, err
		}
	}
	a.mu.Lock()
	a.cfg.Base = base
	a.mu.Unlock()
	a.setServing(rev, cfg, doc)
	return cfg, nil
}

// Start runs the agent for e: it binds the node's purge consumer and, when NATS is reachable,
// returns only once every purge the node missed is applied (or CatchUpTimeout passed, or ctx
// ended: a node stopped while it starts), so the node serves nothing a purge issued while it
// was away covers. Without NATS it returns at once; the purges are applied as soon as NATS
// returns.
func (a *Agent) Start(ctx context.Context, e Edge) error {
	a.mu.Lock()
	a.edge = e
	a.mu.Unlock()
	if _, err := a.nc.Subscribe(control.PrefetchSubject, a.onPrefetch); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.wg.Add(1)
	go a.run()
	if !a.nc.IsConnected() {
		a.log.Warn("control: starting without NATS: purges issued meanwhile are applied when it returns")
		return nil
	}
	select {
	case <-a.caughtUp:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(a.cfg.CatchUpTimeout):
		a.log.Error("control: purges not caught up in time; serving anyway", "waited", a.cfg.CatchUpTimeout)
	}
	return nil
}

// Stop says the node leaves, stops consuming and closes the connection.
func (a *Agent) Stop() {
	a.cancel()
	if !a.nc.IsConnected() {
		// Nothing can be told to the control plane: closing first makes the session's cleanup
		// (stopping the watch deletes its consumer, a request) fail at once instead of waiting
		// out the request's timeout, 5 s more of shutdown while NATS is unreachable.
		a.nc.Close()
	}
	a.wg.Wait()
	a.prefetches.Wait()
	if a.nc.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a.putStatus(ctx, control.NodeStopped)
		cancel()
	}
	a.saveSeq()
	a.nc.Close()
}

func (a *Agent) saveSeq() {
	a.mu.Lock()
	st := a.kept
	a.mu.Unlock()
	st.PurgeSeq = a.purgeSeq.Load()
	if err := a.store.saveState(st, false); err != nil {
		a.log.Warn("control: state", "err", err)
	}
}
