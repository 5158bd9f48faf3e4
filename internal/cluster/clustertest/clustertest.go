// Package clustertest runs POPs of real pixcdn nodes inside one process, on loopback: each
// node an edge on its own listener with its store, its peer endpoint on another listener and
// its gossip on a third, as a deployed node has. Tests and benchmarks start them, load them,
// kill them.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/cluster"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/store"
)

// Secret is the cluster secret of every node started here.
const Secret = "clustertest-secret-0123456789"

// Domain is the one domain every node serves.
const Domain = "img.example.com"

// Options shape one node.
type Options struct {
	Gossip   bool     // take part in a POP (else a lone node: a parent, or a child of one)
	Bind     string   // its gossip address; "" picks a free one
	Join     []string // gossip seeds
	Parents  []string // peer endpoints of the parent tier
	HotRate  float64  // cluster.Config.HotRate
	Memory   int64    // the memory tier; default 32 MiB
	Domain   string   // extra YAML under the domain (indented 4 spaces)
	NoPicker bool     // the node's edge does not use its cluster (an independent node)
}

// Node is one running node.
type Node struct {
	Name    string
	Edge    *edge.Server
	Cluster *cluster.Cluster
	Peer    *httptest.Server
	Store   *store.Cache
	stopped atomic.Bool
}

// Start starts a node in front of originURL.
func Start(name, originURL string, o Options) (*Node, error) {
	n := &Node{Name: name}
	// The peer endpoint's address is gossiped, so it must be known before the edge exists: the
	// listener first, its handler set once the edge is up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var handler atomic.Pointer[http.Handler]
	n.Peer = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	})}}
	mem := o.Memory
	if mem == 0 {
		mem = 32 << 20
	}
	doc := fmt.Sprintf("node_name: %s\nlisten: \"127.0.0.1:0\"\ncache:\n  memory_size: %d\ndomains:\n  - name: %s\n    origin:\n      servers: [{url: %q}]\n      response_timeout: 5s\n%s",
		name, mem, Domain, originURL, o.Domain)
	cfg, err := config.Parse([]byte(doc), name+".yaml")
	if err != nil {
		return nil, err
	}
	if n.Store, err = store.Open(store.Config{MemoryBytes: mem, MemoryObjectMax: 1 << 20, Logger: quiet()}); err != nil {
		return nil, err
	}
	cc := cluster.Config{Node: name, Secret: Secret, PeerAddr: ln.Addr().String(), Join: o.Join, Parents: o.Parents,
		HotRate: o.HotRate, ProbeInterval: 200 * time.Millisecond, Timeout: 5 * time.Second, Logger: quiet()}
	if o.Gossip {
		if cc.Bind = o.Bind; cc.Bind == "" {
			if cc.Bind, err = FreeAddr(); err != nil {
				return nil, err
			}
		}
	}
	if n.Cluster, err = cluster.New(cc); err != nil {
		return nil, err
	}
	opt := edge.Options{Logger: quiet()}
	if !o.NoPicker {
		opt.Picker = n.Cluster
	}
	if n.Edge, err = edge.New(cfg, n.Store, opt); err != nil {
		return nil, err
	}
	h := n.Cluster.Handler(n.Edge)
	handler.Store(&h)
	n.Peer.Start()
	if err := n.Edge.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// StartPOP starts n nodes that gossip to each other and waits until each sees them all.
func StartPOP(n int, prefix, originURL string, o Options) ([]*Node, error) {
	o.Gossip = true
	var nodes []*Node
	for i := range n {
		oi := o
		if i > 0 {
			oi.Join = []string{nodes[0].Cluster.GossipAddr()}
		}
		nd, err := Start(fmt.Sprintf("%s%d", prefix, i), originURL, oi)
		if err != nil {
			Stop(nodes)
			return nil, err
		}
		nodes = append(nodes, nd)
	}
	if err := WaitMembers(nodes, n, 15*time.Second); err != nil {
		Stop(nodes)
		return nil, err
	}
	return nodes, nil
}

// WaitMembers waits until every node sees want members, at most timeout.
func WaitMembers(nodes []*Node, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, nd := range nodes {
		for len(nd.Cluster.Members()) != want {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s sees %d members, want %d", nd.Name, len(nd.Cluster.Members()), want)
			}
			time.Sleep(10 * time.Millisecond) // gossip converging: nothing to be told of
		}
	}
	return nil
}

// Kill ends the node as a killed process would: no goodbye to the POP, listeners closed.
func (n *Node) Kill() {
	if n.stopped.Swap(true) {
		return
	}
	n.Cluster.Close()
	n.Peer.CloseClientConnections()
	n.Peer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n.Edge.Shutdown(ctx)
	n.Store.Close()
}

// Stop kills every node.
func Stop(nodes []*Node) {
	for _, n := range nodes {
		n.Kill()
	}
}

// URL is the node's client-facing base URL.
func (n *Node) URL() string { return "http://" + n.Edge.Addr() }

// FreeAddr is a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
