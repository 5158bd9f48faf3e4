package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/rendezvous"
)

// Config configures a node's membership in its POP. Zero durations take the defaults given.
type Config struct {
	Node     string   // this node's name: unique in the POP
	Bind     string   // gossip address host:port (UDP and TCP); "" = no POP: a lone node of its tier
	Join     []string // seeds: gossip addresses of nodes already in the POP; empty starts a new POP
	Secret   string   // shared by every node and tier: signs peer requests, encrypts gossip; required
	PeerAddr string   // host:port where the other nodes reach this node's peer endpoint
	// Parents are the peer endpoints (http://host:port) of the parent tier, asked in order,
	// each once, for what this node owns, before the origin.
	Parents []string
	// HotRate is the request rate (per second, per key) above which a node keeps a copy of what
	// a peer owns; default 10.
	HotRate float64
	// Timeout bounds a peer's or parent's time to response headers; default 30s (an origin's).
	Timeout time.Duration
	// ProbeInterval is the gossip failure detector's period; default 1s (a dead node is noticed
	// in a few of them).
	ProbeInterval time.Duration
	// RejoinWindow is how long after the members change an owner that misses first asks the
	// key's previous owner for a cached copy; default 5m.
	RejoinWindow time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Validate reports a configuration New would refuse.
func (c *Config) Validate() error {
	switch {
	case c.Node == "":
		return errors.New("cluster: a node name is required")
	case c.Secret == "":
		return errors.New("cluster: a secret is required (peers authenticate with it)")
	case len(c.Secret) < 16:
		return errors.New("cluster: the secret must be at least 16 characters")
	}
	if _, _, err := splitHostPort(c.Bind); err != nil && c.Bind != "" {
		return fmt.Errorf("cluster: bind %q: %w", c.Bind, err)
	}
	if c.Bind == "" && len(c.Join) > 0 {
		return errors.New("cluster: seeds to join need a gossip bind address")
	}
	if _, _, err := splitHostPort(c.PeerAddr); err != nil {
		return fmt.Errorf("cluster: peer address %q: %w", c.PeerAddr, err)
	}
	return nil
}

func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return h, n, nil
}

// Member is one node of the POP as this node sees it.
type Member struct {
	Name string `json:"name"`
	Peer string `json:"peer"` // its peer endpoint, host:port
	Self bool   `json:"self,omitempty"`
}

// meta is what a node gossips about itself.
type meta struct {
	Peer string `json:"peer"`
}

// Cluster is this node's view of its POP and the object cache's Picker.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	ml      *memberlist.Memberlist
	sign    *signer
	tr      *http.Transport
	hot     *hotKeys
	parents []*link
	view    atomic.Pointer[view]
	changed atomic.Int64 // unix ns of the last change of members

	mu    sync.Mutex
	stats map[string]*peerStats // by peer name or parent URL

	membersMu sync.Mutex
	members   map[string]string // live node → its peer endpoint, as memberlist's events tell

	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// view is an immutable snapshot of the live members.
type view struct {
	set   *rendezvous.Set
	links []*link // by the set's index; nil for this node
	self  int
}

var _ objcache.Picker = (*Cluster)(nil)

// New joins (or starts) the POP. It returns once this node's gossip listens; joining the seeds
// is tried once here, and the seeds' members arrive by gossip after it.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HotRate <= 0 {
		cfg.HotRate = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RejoinWindow == 0 {
		cfg.RejoinWindow = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cluster{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Node), sign: &signer{key: []byte(cfg.Secret), now: cfg.Now},
		tr: newTransport(cfg.Timeout), hot: newHotKeys(cfg.HotRate, cfg.Now), stats: map[string]*peerStats{},
		members: map[string]string{cfg.Node: cfg.PeerAddr}, done: make(chan struct{}),
	}
	for _, p := range cfg.Parents {
		l, err := newLink(p, p, cfg.Node, TierChild, c.sign, c.tr, c.statsOf(p))
		if err != nil {
			return nil, err
		}
		c.parents = append(c.parents, l)
	}
	c.publish()
	if cfg.Bind == "" {
		return c, nil
	}
	ml, err := memberlist.Create(c.gossipConfig())
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip: %w", err)
	}
	c.ml = ml
	if len(cfg.Join) > 0 {
		if _, err := ml.Join(cfg.Join); err != nil {
			// The seeds may be starting too. Serve alone meanwhile, and keep trying.
			c.log.Warn("cluster: no seed answered yet; serving alone and trying again", "seeds", cfg.Join, "err", err)
			go c.rejoin()
		}
	}
	return c, nil
}

// rejoin tries the seeds again, from every second to every 30, while this node knows no other
// member and its gossip runs.
func (c *Cluster) rejoin() {
	wait := time.Second
	for {
		select {
		case <-c.done:
			return
		case <-time.After(wait):
		}
		if len(c.Members()) > 1 {
			return // someone found us (or we found them by gossip)
		}
		if _, err := c.ml.Join(c.cfg.Join); err == nil {
			c.log.Info("cluster: joined", "seeds", c.cfg.Join)
			return
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (c *Cluster) gossipConfig() *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	host, port, _ := splitHostPort(c.cfg.Bind)
	mc.Name, mc.BindAddr, mc.BindPort = c.cfg.Node, host, port
	mc.AdvertiseAddr, mc.AdvertisePort = host, port
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		mc.AdvertiseAddr = "" // memberlist picks this host's address
	}
	if c.cfg.ProbeInterval > 0 {
		mc.ProbeInterval = c.cfg.ProbeInterval
		mc.ProbeTimeout = c.cfg.ProbeInterval / 2
		mc.GossipInterval = min(mc.GossipInterval, c.cfg.ProbeInterval/5)
	}
	// A node restarted on another address (a new container) takes its name back once the old
	// one has been dead this long.
	mc.DeadNodeReclaimTime = 30 * mc.ProbeInterval
	mc.SecretKey = gossipKey(c.cfg.Secret)
	mc.Delegate = delegate{c}
	mc.Events = events{c}
	mc.Logger = log.New(logWriter{c.log}, "", 0)
	return mc
}

// Members are the live nodes of the POP, this one included, sorted by name.
func (c *Cluster) Members() []Member {
	v := c.view.Load()
	out := make([]Member, 0, v.set.Len())
	for i, n := range v.set.Nodes() {
		m := Member{Name: n.Name, Self: i == v.self}
		if v.links[i] != nil {
			m.Peer = v.links[i].base.Host
		} else {
			m.Peer = c.cfg.PeerAddr
		}
		out = append(out, m)
	}
	return out
}

// memberEvent applies one of memberlist's events to the members and publishes a new view.
// memberlist calls it from one goroutine at a time.
func (c *Cluster) memberEvent(n *memberlist.Node, alive bool) {
	c.membersMu.Lock()
	defer c.membersMu.Unlock()
	if n.Name == c.cfg.Node {
		return
	}
	var m meta
	if !alive || json.Unmarshal(n.Meta, &m) != nil || m.Peer == "" {
		delete(c.members, n.Name) // gone, or cannot be asked: it says not where its endpoint is
	} else {
		c.members[n.Name] = m.Peer
	}
	c.publishLocked()
}

func (c *Cluster) publish() {
	c.membersMu.Lock()
	defer c.membersMu.Unlock()
	c.publishLocked()
}

func (c *Cluster) publishLocked() {
	ms := make([]Member, 0, len(c.members))
	for name, peer := range c.members {
		ms = append(ms, Member{Name: name, Peer: peer, Self: name == c.cfg.Node})
	}
	c.setView(ms)
}

func (c *Cluster) setView(ms []Member) {
	nodes := make([]rendezvous.Node, len(ms))
	for i, m := range ms {
		nodes[i] = rendezvous.Node{Name: m.Name}
	}
	set := rendezvous.New(nodes)
	v := &view{set: set, links: make([]*link, set.Len()), self: -1}
	for i, n := range set.Nodes() {
		j := slices.IndexFunc(ms, func(m Member) bool { return m.Name == n.Name })
		if ms[j].Self {
			v.self = i
			continue
		}
		l, err := newLink(n.Name, "http://"+ms[j].Peer, c.cfg.Node, TierPeer, c.sign, c.tr, c.statsOf(n.Name))
		if err != nil {
			c.log.Warn("cluster: member with a bad peer address", "node", n.Name, "peer", ms[j].Peer)
			continue
		}
		v.links[i] = l
	}
	if old := c.view.Swap(v); old != nil && !sameNodes(old.set, set) {
		c.changed.Store(c.cfg.Now().UnixNano())
		c.log.Info("cluster: members changed", "members", len(ms))
	}
}

func sameNodes(a, b *rendezvous.Set) bool {
	return slices.EqualFunc(a.Nodes(), b.Nodes(), func(x, y rendezvous.Node) bool { return x.Name == y.Name })
}

func (c *Cluster) statsOf(name string) *peerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats[name]
	if s == nil {
		s = &peerStats{}
		c.stats[name] = s
	}
	return s
}

// Pick names who fills primary: its owner when that is another node (a copy is kept here only
// when the key is hot); when this node owns it, its previous owner for a cached copy (for a
// while after the members changed) and then the parent tier; nothing (the origin) when there
// is neither.
func (c *Cluster) Pick(domain, primary string, asOwner bool) (objcache.Upstream, bool) {
	v := c.view.Load()
	owner := v.set.Owner(primary)
	if !asOwner && owner != v.self && owner >= 0 && v.links[owner] != nil {
		c.hot.note(primary)
		return domainLink{link: v.links[owner], domain: domain, copies: c.hot}, true
	}
	var ch chain
	if since := c.cfg.Now().UnixNano() - c.changed.Load(); c.changed.Load() != 0 && since < int64(c.cfg.RejoinWindow) && v.set.Len() > 1 {
		var rank [2]int
		// The previous owner is the key's second choice now; asked as the owner (a peer that
		// picked us while our views differ), it is the first choice of the others.
		r := v.set.Ranked(rank[:0], primary, 2)
		for _, i := range r {
			if i != v.self && v.links[i] != nil {
				ch = append(ch, domainLink{link: v.links[i], domain: domain, probe: true})
				break
			}
		}
	}
	for _, p := range c.parents {
		ch = append(ch, domainLink{link: p, domain: domain})
	}
	switch len(ch) {
	case 0:
		return nil, false
	case 1:
		return ch[0], true
	}
	return ch, true
}

// OwnerOf names the member that owns primary as this node sees the POP.
func (c *Cluster) OwnerOf(primary string) string { return c.view.Load().set.OwnerName(primary) }

// GossipAddr is where this node's gossip listens ("" without a POP), for others to join.
func (c *Cluster) GossipAddr() string {
	if c.ml == nil {
		return ""
	}
	n := c.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Leave tells the POP this node is going and stops its gossip: its keys move to the others
// at once, rather than after they notice it is gone.
func (c *Cluster) Leave(timeout time.Duration) error {
	var err error
	if c.ml != nil {
		err = c.ml.Leave(timeout)
	}
	return errors.Join(err, c.Close())
}

// Close stops the gossip without saying goodbye (the others will find the node failed).
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	c.tr.CloseIdleConnections()
	if c.ml == nil {
		return nil
	}
	return c.ml.Shutdown()
}

// PeerStats are one peer's (or parent's) exchanges with this node so far.
type PeerStats struct {
	Peer              string
	Requests, Errors  int64
	Bytes             int64
	HeaderTimeSeconds float64 // time to response headers, summed
}

// Stats reports every peer and parent this node has asked.
func (c *Cluster) Stats() []PeerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]PeerStats, 0, len(c.stats))
	for name, s := range c.stats {
		out = append(out, PeerStats{Peer: name, Requests: s.Requests.Load(), Errors: s.Errors.Load(),
			Bytes: s.Bytes.Load(), HeaderTimeSeconds: float64(s.Nanos.Load()) / 1e9})
	}
	slices.SortFunc(out, func(a, b PeerStats) int {
		if a.Peer < b.Peer {
			return -1
		}
		return 1
	})
	return out
}

// delegate gossips the node's peer endpoint.
type delegate struct{ c *Cluster }

func (d delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(meta{Peer: d.c.cfg.PeerAddr})
	return b
}
func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// events keeps the members as memberlist finds them.
type events struct{ c *Cluster }

func (e events) NotifyJoin(n *memberlist.Node)   { e.c.memberEvent(n, true) }
func (e events) NotifyLeave(n *memberlist.Node)  { e.c.memberEvent(n, false) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.c.memberEvent(n, true) }

// logWriter sends memberlist's log lines to slog at debug level (its warnings are routine:
// a node that stopped answering probes).
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Debug("memberlist: " + string(p))
	return len(p), nil
}

var _ io.Writer = logWriter{}
