package cluster_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/cluster/clustertest"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// countingOrigin is a real HTTP origin that counts requests per path and can be slowed.
type countingOrigin struct {
	srv   *httptest.Server
	total atomic.Int64
	mu    sync.Mutex
	paths map[string]int
	delay time.Duration
}

func newOrigin(t *testing.T, delay time.Duration, h http.HandlerFunc) *countingOrigin {
	o := &countingOrigin{paths: map[string]int{}, delay: delay}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.total.Add(1)
		o.mu.Lock()
		o.paths[r.URL.Path]++
		o.mu.Unlock()
		if o.delay > 0 {
			time.Sleep(o.delay) // the origin is slow: what coalescing protects
		}
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Surrogate-Key", "all")
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

type popNode = clustertest.Node

// nodeOpts shape one node.
type nodeOpts = clustertest.Options

func startNode(t *testing.T, name, originURL string, o nodeOpts) *popNode {
	t.Helper()
	n, err := clustertest.Start(name, originURL, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Kill)
	return n
}

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := clustertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startPOP starts n nodes that gossip to each other, and waits until each sees them all.
func startPOP(t *testing.T, n int, originURL string, o nodeOpts) []*popNode {
	t.Helper()
	nodes, err := clustertest.StartPOP(n, "node-", originURL, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { clustertest.Stop(nodes) })
	return nodes
}

func gossipOf(t *testing.T, n *popNode) string {
	t.Helper()
	return n.Cluster.GossipAddr()
}

func waitMembers(t *testing.T, nodes []*popNode, want int) {
	t.Helper()
	if err := clustertest.WaitMembers(nodes, want, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 20 * time.Second}

// get asks node n for path as a client would.
func get(t *testing.T, n *popNode, path string) (int, string, string, error) {
	req, _ := http.NewRequest(http.MethodGet, n.URL()+path, nil)
	req.Host = "img.example.com"
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Cache-Status"), err
}

func mustGet(t *testing.T, n *popNode, path string) (string, string) {
	t.Helper()
	code, body, cs, err := get(t, n, path)
	if err != nil || code != 200 {
		t.Fatalf("%s %s: %d %v %q", n.Name, path, code, err, cs)
	}
	return body, cs
}

// TestHerdAcrossThreeNodes: 200 concurrent cold requests for one object, spread over 3 nodes,
// make exactly one origin request; every client gets the body.
// A text body the nodes compress: the non-owners' clients (Go's, asking for gzip) are answered
// through the owner in their coding, still from one origin request.
func TestHerdAcrossThreeNodes(t *testing.T) {
	text := strings.Repeat("herd ", 400)
	o := newOrigin(t, 200*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		if r.URL.Path == "/herd.txt" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, text)
			return
		}
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	})
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{})
	for _, path := range []string{"/herd.jpg", "/herd.txt"} {
		want := "body of " + path
		if path == "/herd.txt" {
			want = text
		}
		before := o.total.Load()
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body, _, err := get(t, nodes[i%3], path)
				if err != nil || code != 200 || body != want {
					errs <- fmt.Errorf("%s: %d %q %v", path, code, body, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := o.total.Load() - before; n != 1 {
			t.Fatalf("%s: origin requests %d, want 1", path, n)
		}
	}
}

// TestOwnerServesThePOP: each object is fetched once for the POP; the owner's Cache-Status
// comes first in a non-owner's answer; a non-owner keeps no copy of a cold object.
func TestOwnerServesThePOP(t *testing.T) {
	o := newOrigin(t, 0, nil)
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{HotRate: 1000})
	for i := range 30 {
		path := fmt.Sprintf("/obj/%d.jpg", i)
		for _, nd := range nodes {
			if body, _ := mustGet(t, nd, path); body != "body of "+path {
				t.Fatalf("%s: %q", path, body)
			}
		}
	}
	if n := o.total.Load(); n != 30 {
		t.Fatalf("origin requests %d for 30 objects on 3 nodes, want 30", n)
	}
	stored := 0
	for _, nd := range nodes {
		stored += int(nd.Store.Stats().MemoryObjects)
	}
	if stored != 30 {
		t.Fatalf("%d objects stored in the POP, want 30 (one copy each, at its owner)", stored)
	}
	_, cs := mustGet(t, nodes[0], "/obj/7.jpg")
	if parts := strings.Split(cs, ", "); len(parts) == 2 && !strings.HasPrefix(parts[1], "node-0;") {
		t.Fatalf("Cache-Status %q: the owner's entry must come before this node's", cs)
	}
}

// TestHotKeysAreCopied: a key asked for often on a node that does not own it is kept there too.
func TestHotKeysAreCopied(t *testing.T) {
	o := newOrigin(t, 0, nil)
	nodes := startPOP(t, 2, o.srv.URL, nodeOpts{HotRate: 5})
	var other *popNode
	for _, nd := range nodes {
		if _, cs := mustGet(t, nd, "/hot.jpg"); strings.Contains(cs, ", ") {
			other = nd // its answer came through the owner
		}
	}
	if other == nil {
		t.Fatal("no node went to the owner")
	}
	hit := false
	for range 50 {
		if _, cs := mustGet(t, other, "/hot.jpg"); strings.HasPrefix(cs, other.Name+"; hit") {
			hit = true
			break
		}
	}
	if !hit {
		t.Fatal("a hot key was never kept by the node that does not own it")
	}
	if o.total.Load() != 1 {
		t.Fatalf("origin requests %d", o.total.Load())
	}
	// A purge on one node reaches the other's copy.
	res, err := nodes[0].Edge.Purge(purge.Purge{Kind: purge.URL, Targets: []string{"img.example.com/hot.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	peers := nodes[0].Cluster.Broadcast(context.Background(), purge.Purge{ID: res.ID, Issued: res.Issued, Kind: purge.URL, Targets: []string{"img.example.com/hot.jpg"}}, 5*time.Second)
	if len(peers) != 1 || peers[0].Err != nil || !peers[0].Result.Applied {
		t.Fatalf("broadcast: %+v", peers)
	}
	if _, cs := mustGet(t, other, "/hot.jpg"); strings.HasPrefix(cs, other.Name+"; hit") {
		t.Fatalf("%s still serves its copy after the purge: %s", other.Name, cs)
	}
	if o.total.Load() != 2 {
		t.Fatalf("origin requests %d: the owner's copy survived the purge", o.total.Load())
	}
}

// TestKillOneNodeUnderLoad: while clients load the two other nodes, one node dies without a
// goodbye. No request to the survivors fails; its keys move to them (about a third), and only
// its keys move.
func TestKillOneNodeUnderLoad(t *testing.T) {
	o := newOrigin(t, 0, nil)
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{HotRate: 1000})
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("img.example.com/k/%d.jpg", i)
	}
	before := ownersOf(nodes[0], keys)
	ctx, cancel := context.WithCancel(context.Background())
	var failures, total atomic.Int64
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ctx.Err() == nil; i++ {
				nd := nodes[i%2] // the survivors only
				code, _, _, err := get(t, nd, fmt.Sprintf("/k/%d.jpg", i%len(keys)))
				total.Add(1)
				if err != nil || code != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // load running before the kill (bounded: see the deadline below)
	nodes[2].Kill()
	waitMembers(t, nodes[:2], 2)
	time.Sleep(300 * time.Millisecond) // and after the POP noticed
	cancel()
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests to the survivors failed", f, total.Load())
	}
	after := ownersOf(nodes[0], keys)
	moved := 0
	for i := range keys {
		if before[i] != after[i] {
			moved++
			if before[i] != "node-2" {
				t.Fatalf("%s moved from %s to %s though its owner lives", keys[i], before[i], after[i])
			}
		}
	}
	if share := float64(moved) / float64(len(keys)); share > 1.0/3+0.05 {
		t.Fatalf("%.2f of the keys moved, want at most 1/3 + 5 %%", share)
	}
	t.Logf("%d requests, none failed; %d of %d keys moved", total.Load(), moved, len(keys))
}

// ownersOf names each key's owner as n sees the POP.
func ownersOf(n *popNode, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = n.Cluster.OwnerOf(k)
	}
	return out
}

// TestRejoinWithoutStampede: a node that comes back empty (a restart without its disk) owns
// its keys again; its misses on them are answered by the nodes that held them meanwhile, not
// by the origin.
func TestRejoinWithoutStampede(t *testing.T) {
	o := newOrigin(t, 0, nil)
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{HotRate: 1000})
	paths := make([]string, 60)
	for i := range paths {
		paths[i] = fmt.Sprintf("/r/%d.jpg", i)
		mustGet(t, nodes[0], paths[i])
	}
	bind := gossipOf(t, nodes[2])
	nodes[2].Kill()
	waitMembers(t, nodes[:2], 2)
	for _, p := range paths { // the survivors take over node-2's keys: fetched once more
		mustGet(t, nodes[0], p)
	}
	afterLoss := o.total.Load()
	back := startNode(t, "node-2", o.srv.URL, nodeOpts{Gossip: true, Bind: bind, Join: []string{gossipOf(t, nodes[0])}, HotRate: 1000})
	waitMembers(t, []*popNode{nodes[0], nodes[1], back}, 3)
	for _, p := range paths {
		mustGet(t, nodes[0], p)
	}
	if n := o.total.Load(); n != afterLoss {
		t.Fatalf("origin requests %d -> %d after the node came back empty: its misses went to the origin", afterLoss, n)
	}
	t.Logf("origin requests: 60 to warm, %d after the loss, none after the return", afterLoss-60)
}

// TestPartitionedNodeKeepsServing: a node whose gossip is cut keeps answering from its cache
// and its origin.
func TestPartitionedNodeKeepsServing(t *testing.T) {
	o := newOrigin(t, 0, nil)
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{})
	cut := nodes[1]
	mustGet(t, cut, "/before.jpg")
	cut.Cluster.Close() // its gossip port closed: the others lose it, it loses them
	waitMembers(t, []*popNode{nodes[0], nodes[2]}, 2)
	for i := range 20 {
		if body, _ := mustGet(t, cut, fmt.Sprintf("/during/%d.jpg", i)); !strings.HasPrefix(body, "body of") {
			t.Fatal(body)
		}
	}
	mustGet(t, cut, "/before.jpg")
}

// TestParentTier: three nodes of a child POP under one parent: their misses make one origin
// request; a parent that is down is skipped for the origin.
func TestParentTier(t *testing.T) {
	o := newOrigin(t, 50*time.Millisecond, nil)
	parent := startNode(t, "parent", o.srv.URL, nodeOpts{})
	children := startPOP(t, 3, o.srv.URL, nodeOpts{Parents: []string{parent.Peer.URL}, HotRate: 1000})
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustGet(t, children[i%3], "/tiered.jpg")
		}()
	}
	wg.Wait()
	if n := o.total.Load(); n != 1 {
		t.Fatalf("origin requests %d through a parent, want 1", n)
	}
	if _, cs := mustGet(t, parent, "/tiered.jpg"); !strings.HasPrefix(cs, "parent; hit") {
		t.Fatalf("the parent did not keep it: %s", cs)
	}
	parent.Kill()
	for i := range 5 {
		if body, _ := mustGet(t, children[i%3], fmt.Sprintf("/after/%d.jpg", i)); !strings.HasPrefix(body, "body of") {
			t.Fatal(body)
		}
	}
}

// TestImageVariantMadeOnce: a variant asked of every node is made once, by its key's owner.
func TestImageVariantMadeOnce(t *testing.T) {
	src := pngOf(t, 64, 48)
	o := newOrigin(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "image/png")
		w.Write(src)
	})
	nodes := startPOP(t, 3, o.srv.URL, nodeOpts{HotRate: 1000})
	for _, nd := range nodes {
		body, cs := mustGet(t, nd, "/p.png?w=20&fm=webp")
		if !strings.HasPrefix(body, "RIFF") {
			t.Fatalf("%s: not a WebP (%q)", nd.Name, cs)
		}
	}
	made := int64(0)
	for _, nd := range nodes {
		made += nd.Edge.ImageStats().Made
	}
	if made != 1 {
		t.Fatalf("the variant was made %d times in the POP, want 1", made)
	}
}

// pngOf is a w x h grey PNG.
func pngOf(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestJoinBeforeTheSeed: a node whose seed is not up yet serves alone and joins once it is.
func TestJoinBeforeTheSeed(t *testing.T) {
	o := newOrigin(t, 0, nil)
	seedAddr := freeAddr(t)
	early := startNode(t, "early", o.srv.URL, nodeOpts{Gossip: true, Join: []string{seedAddr}})
	mustGet(t, early, "/alone.jpg") // alone, from the origin
	seed := startNode(t, "seed", o.srv.URL, nodeOpts{Gossip: true, Bind: seedAddr})
	waitMembers(t, []*popNode{early, seed}, 2)
}

// TestCodingsThroughTheOwner: a node that does not keep an object passes the client's
// Accept-Encoding to its owner, which answers from its stored coding; a client without it gets
// identity; neither is served the other's bytes.
func TestCodingsThroughTheOwner(t *testing.T) {
	text := strings.Repeat("pixcdn text body ", 200)
	o := newOrigin(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, text)
	})
	nodes := startPOP(t, 2, o.srv.URL, nodeOpts{HotRate: 1000})
	tr := &http.Transport{DisableCompression: true}
	fetch := func(n *popNode, ae string) (string, string) {
		req, _ := http.NewRequest(http.MethodGet, n.URL()+"/t.txt", nil)
		req.Host = "img.example.com"
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Encoding"), string(b)
	}
	for range 3 {
		for _, nd := range nodes {
			if enc, body := fetch(nd, ""); enc != "" || body != text {
				t.Fatalf("%s, no Accept-Encoding: %q coding, %d bytes", nd.Name, enc, len(body))
			}
			enc, body := fetch(nd, "gzip")
			if enc != "gzip" {
				t.Fatalf("%s, gzip asked: %q coding", nd.Name, enc)
			}
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if plain, _ := io.ReadAll(zr); string(plain) != text {
				t.Fatalf("%s: the gzip body is not the object", nd.Name)
			}
		}
	}
	if o.total.Load() != 1 {
		t.Fatalf("origin requests %d", o.total.Load())
	}
}
