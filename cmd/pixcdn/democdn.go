package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/demo"
	"github.com/pixcdn/pixcdn/internal/purge"
	"github.com/pixcdn/pixcdn/internal/router"
)

// demoCDN is the whole CDN on one machine, on loopback: a control plane (embedded NATS), two
// POPs of two edge nodes sharing one cache each, a parent node in front of the sample site,
// and the router in front of it all.
type demoCDN struct {
	host      string
	base      int // the router's HTTP port; the nodes and the control plane on the ports after it
	dir       string
	siteDir   string
	token     string // the control plane's API token, fresh each run
	secret    string // the cluster's
	ctl       *control.Server
	rt        *router.Router
	nodes     []demoNode
	stdout    io.Writer
	stderr    io.Writer
	nodeLogs  io.Writer
	routerDNS string
}

// demoNode is one edge of the demo: where it listens and what it is.
type demoNode struct {
	name, pop, listen, admin, peer, gossip string
	parent                                 bool
}

// The demo's zone and its two POPs: a client the coverage file does not place is in pop-a; one
// from 198.51.100.0/24 (say so with X-Forwarded-For: the router trusts loopback) is in pop-b.
const (
	demoZone     = "cdn.pixcdn.test"
	demoCoverage = `{"coverageZones": {
  "pop-a": {"network": ["127.0.0.0/8", "192.0.2.0/24"], "coordinates": {"latitude": 50.11, "longitude": 8.68}},
  "pop-b": {"network": ["198.51.100.0/24"], "coordinates": {"latitude": 38.9, "longitude": -77.0}}
}}`
)

func cmdDemoCDN(listen, dir string, stdout, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(listen)
	base, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		fmt.Fprintln(stderr, "pixcdn demo: -listen needs HOST:PORT")
		return 2
	}
	d := &demoCDN{host: host, base: base, dir: dir, siteDir: filepath.Join(dir, "site"), token: purge.NewID(), secret: purge.NewID(),
		stdout: stdout, stderr: stderr, nodeLogs: io.Discard}
	if os.Getenv("PIXCDN_DEMO_LOG") != "" {
		d.nodeLogs = stderr
	}
	fmt.Fprintf(stdout, "pixcdn demo: preparing the sample site in %s ...\n", d.siteDir)
	if err := demo.WriteSite(d.siteDir); err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return d.run(ctx, nil)
}

// run starts everything, calls ready (tests) or prints the URLs, and serves until ctx ends.
func (d *demoCDN) run(ctx context.Context, ready func(*demoCDN)) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := d.startControl(); err != nil {
		fmt.Fprintln(d.stderr, "pixcdn demo:", err)
		return 1
	}
	defer d.ctl.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	failed := make(chan error, 8)
	if err := d.startNodes(ctx, &wg, failed); err != nil {
		fmt.Fprintln(d.stderr, "pixcdn demo:", err)
		cancel()
		return 1
	}
	if err := d.startRouter(); err != nil {
		fmt.Fprintln(d.stderr, "pixcdn demo:", err)
		cancel()
		return 1
	}
	defer d.rt.Close()
	if ready != nil {
		ready(d)
	} else {
		d.printURLs()
	}
	select {
	case <-ctx.Done():
		return 0
	case err := <-failed:
		fmt.Fprintln(d.stderr, "pixcdn demo:", err)
		cancel()
		return 1
	}
}

// addr is the address of the listener offset ports after the router's; with port 0 (tests)
// every listener takes an ephemeral port of its own.
func (d *demoCDN) addr(offset int) string {
	if d.base == 0 {
		return net.JoinHostPort(d.host, "0")
	}
	return net.JoinHostPort(d.host, strconv.Itoa(d.base+offset))
}

// startControl runs the control plane and stores the demo's domains as its first version.
func (d *demoCDN) startControl() error {
	var err error
	d.ctl, err = control.Start(control.Config{Listen: d.addr(10), Token: d.token, DataDir: filepath.Join(d.dir, "control"),
		NATSListen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	dash, _ := json.Marshal(map[string]string{"dashboard": "http://" + browsable(d.ctl.Addr()) + "/"})
	if err := os.WriteFile(filepath.Join(d.siteDir, "demo.json"), dash, 0o644); err != nil {
		return err
	}
	doc := fmt.Sprintf(`domains:
  - name: "*"
    server_timing: true   # the sample page reads each load's Cache-Status
    origin: {root: %q}
    cache:
      key_host: false   # every node's own host:port names one object: the POP shares it
      rules:
        - {extensions: [".css", ".js", ".jpg", ".png"], ttl: 1h, priority: 10}
        - {prefix: "/", ttl: 1m}
`, d.siteDir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = d.ctl.Push(ctx, []byte(doc), "(demo domains)", "the demo's domains")
	return err
}

// startNodes runs the parent, then each POP's two nodes, each once the one before listens.
func (d *demoCDN) startNodes(ctx context.Context, wg *sync.WaitGroup, failed chan<- error) error {
	ports, err := freePorts(14)
	if err != nil {
		return err
	}
	lo := func(i int) string { return "127.0.0.1:" + ports[i] }
	d.nodes = []demoNode{{name: "demo-parent", pop: "parent", listen: d.addr(5), admin: lo(0), peer: lo(1), parent: true}}
	for i, name := range []string{"demo-a1", "demo-a2", "demo-b1", "demo-b2"} {
		d.nodes = append(d.nodes, demoNode{name: name, pop: "pop-" + name[5:6], listen: d.addr(1 + i), admin: lo(2 + 3*i), peer: lo(3 + 3*i), gossip: lo(4 + 3*i)})
	}
	for i, n := range d.nodes {
		cfg, err := d.nodeConfig(n)
		if err != nil {
			return err
		}
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready := func(r running) {
				d.nodes[i].listen = r.edge.Addr() // the port taken, for the router's nodes file
				close(started)
			}
			if code := serve(ctx, cfg, d.nodeLogs, ready); code != 0 {
				failed <- fmt.Errorf("node %s exited with %d", n.name, code)
			}
		}()
		select {
		case <-started:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return fmt.Errorf("node %d (%s) did not start", i, n.name)
		}
	}
	return nil
}

// nodeConfig is a demo node's own file: its listeners, cache, POP and control plane; its
// domains come from the control plane.
func (d *demoCDN) nodeConfig(n demoNode) (*config.Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "node_name: %s\npop: %s\nlisten: %q\nadmin: {listen: %q}\n", n.name, n.pop, n.listen, n.admin)
	fmt.Fprintf(&b, "cache: {dir: %q, memory_size: 64MiB, disk_size: 1GiB, segment_size: 16MiB}\n", filepath.Join(d.dir, "cache-"+n.name))
	fmt.Fprintf(&b, "control: {nats: %q, advertise: [127.0.0.1]}\n", d.ctl.NATSURL())
	fmt.Fprintf(&b, "cluster:\n  secret: %s\n  peer_listen: %q\n", d.secret, n.peer)
	if !n.parent {
		fmt.Fprintf(&b, "  bind: %q\n  parents: [\"http://%s\"]\n", n.gossip, d.nodes[0].peer)
		if seed := d.seedOf(n); seed != "" {
			fmt.Fprintf(&b, "  join: [%q]\n", seed)
		}
	}
	return config.Parse([]byte(b.String()), "(demo "+n.name+")")
}

// seedOf is the gossip address of the first node of n's POP, "" for that node itself.
func (d *demoCDN) seedOf(n demoNode) string {
	for _, o := range d.nodes {
		if o.pop == n.pop && !o.parent {
			if o.name == n.name {
				return ""
			}
			return o.gossip
		}
	}
	return ""
}

// startRouter runs the router in HTTP mode on the demo's address (and DNS on the port after
// the control plane's), over the POPs' nodes.
func (d *demoCDN) startRouter() error {
	var b strings.Builder
	b.WriteString("domains: [\"*\"]\ndefault_pop: pop-a\npops:\n")
	for _, pop := range []string{"pop-a", "pop-b"} {
		fmt.Fprintf(&b, "  - name: %s\n    nodes:\n", pop)
		for _, n := range d.nodes {
			if n.pop == pop {
				fmt.Fprintf(&b, "      - {name: %s, ipv4: 127.0.0.1, url: \"http://%s\", health: \"http://%s/readyz\"}\n", n.name, browsable(n.listen), n.admin)
			}
		}
	}
	nodesFile, covFile := filepath.Join(d.dir, "router-nodes.yaml"), filepath.Join(d.dir, "router-zones.json")
	if err := os.WriteFile(nodesFile, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(covFile, []byte(demoCoverage), 0o644); err != nil {
		return err
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	var err error
	d.rt, err = router.New(router.Config{Zone: demoZone, NodesFile: nodesFile, CoverageFile: covFile,
		HTTPListen: d.addr(0), DNSListen: d.addr(11), TrustedProxies: loopback, ProbeInterval: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := d.rt.Start(); err != nil {
		return err
	}
	d.routerDNS = d.rt.Addr("dns")
	// The router probes before it answers: wait until it takes every edge as healthy.
	deadline := time.Now().Add(10 * time.Second)
	for d.rt.HealthyNodes() < len(d.nodes)-1 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the router sees no healthy node")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (d *demoCDN) printURLs() {
	entry := "http://" + browsable(d.rt.Addr("http"))
	fmt.Fprintf(d.stdout, "\npixcdn demo is running: the whole CDN on this machine.\n\n")
	fmt.Fprintf(d.stdout, "  %s/    the router: sends you (302) to a node of your POP; open it in a browser\n", entry)
	for _, n := range d.nodes {
		role := "edge node of " + n.pop
		if n.parent {
			role = "parent node, in front of the sample site"
		}
		fmt.Fprintf(d.stdout, "  http://%s/    %s, %s\n", browsable(n.listen), n.name, role)
	}
	host, port, _ := net.SplitHostPort(d.routerDNS)
	ctlAddr := browsable(d.ctl.Addr())
	fmt.Fprintf(d.stdout, `  http://%s/    the dashboard and the control plane's API (log in with the token %s)
  dig @%s -p %s +short +subnet=198.51.100.0/24 www.%s    the router's DNS

A client in pop-b (the router believes X-Forwarded-For from loopback):

  curl -sI -H 'X-Forwarded-For: 198.51.100.7' %s/style.css | grep -iE 'location|x-pixcdn-route'
  curl -sIL %s/style.css | grep -i cache-status      # node, then its POP's owner, then the parent

Purge everywhere, and see each node acknowledge:

  PIXCDN_CONTROL=http://%s PIXCDN_CONTROL_TOKEN=%s bin/pixcdn purge any/style.css

Stop with Ctrl-C.
`, ctlAddr, d.token, host, port, demoZone, entry, entry, ctlAddr, d.token)
}
