package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures a Router.
type Config struct {
	Zone    string        // the DNS zone answered, e.g. "cdn.pixcdn.test"; required
	TTL     time.Duration // TTL of the answers; default 20s
	Answers int           // A/AAAA records per answer; default 2
	NS      []string      // name servers of the zone (NS, SOA); default ns1.<zone>

	DNSListen     string // host:port of the DNS server (UDP and TCP); "" = none
	HTTPListen    string // host:port of the 302 server; "" = none
	MetricsListen string // host:port of /metrics, /healthz, /readyz; "" = none
	HTTPScheme    string // scheme of the 302 Location; default http

	CoverageFile string // coverage-zone file (Traffic Control JSON); "" = none
	GeoIPFile    string // MaxMind-format .mmdb; "" = none
	NodesFile    string // the POPs and nodes (docs/router.md); or Control
	Control      string // the control plane's API (http://host:port): nodes, domains and load from it
	ControlToken string
	DefaultPOP   string // overrides the nodes file's default_pop

	ProbeInterval time.Duration // between health probes of a node; default 1s
	Fall, Rise    int           // failed probes that take a node out, passed ones that bring it back; default 2, 3
	// Load thresholds for nodes from the control plane (a nodes file gives them per node).
	MaxRPS, MaxMbps, MaxCPU float64

	TrustedProxies []netip.Prefix // whose X-Forwarded-For the HTTP mode believes
	Logger         *slog.Logger
}

// Router is a running scheduler.
type Router struct {
	cfg     Config
	log     *slog.Logger
	zone    string // fully qualified, lowercase
	ttl     uint32
	serial  atomic.Uint32
	table   atomic.Pointer[table]
	metrics *routerMetrics
	reg     *prometheus.Registry

	mu     sync.Mutex
	top    *Topology
	cov    *Coverage
	geo    *geoDB
	health map[string]*nodeHealth
	probes map[string]probeHandle // by node name
	loads  map[string]load

	servers []func(context.Context) error
	addrs   map[string]string
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	client  *http.Client
}

type probeHandle struct {
	url    string
	cancel context.CancelFunc
}

// New reads the files and makes a Router; Start serves it.
func New(cfg Config) (*Router, error) {
	if cfg.Zone == "" {
		return nil, errors.New("router: a zone is required (-zone cdn.example.net)")
	}
	if (cfg.NodesFile == "") == (cfg.Control == "") {
		return nil, errors.New("router: give the nodes with -nodes FILE or -control URL (one of them)")
	}
	if cfg.TTL == 0 {
		cfg.TTL = 20 * time.Second
	}
	if cfg.Answers == 0 {
		cfg.Answers = 2
	}
	if cfg.HTTPScheme == "" {
		cfg.HTTPScheme = "http"
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = time.Second
	}
	if cfg.Fall == 0 {
		cfg.Fall = 2
	}
	if cfg.Rise == 0 {
		cfg.Rise = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	zone := dns.Fqdn(strings.ToLower(cfg.Zone))
	if len(cfg.NS) == 0 {
		cfg.NS = []string{"ns1." + zone}
	}
	if _, ok := dns.IsDomainName(zone); !ok {
		return nil, fmt.Errorf("router: zone %q is not a domain name", cfg.Zone)
	}
	r := &Router{cfg: cfg, log: cfg.Logger, zone: zone, ttl: uint32(cfg.TTL / time.Second), reg: prometheus.NewRegistry(),
		health: map[string]*nodeHealth{}, probes: map[string]probeHandle{}, loads: map[string]load{}, addrs: map[string]string{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}}
	r.metrics = newRouterMetrics(r.reg)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.serial.Store(uint32(time.Now().Unix()))
	r.table.Store(&table{popIndex: map[string]int{}, defaultPOP: -1, domains: map[string]bool{}, nodes: map[string]*tnode{}})
	if err := r.Reload(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Reload reads the coverage-zone file, the GeoIP database and the nodes file again. On any
// error nothing changes and the error says why; the router goes on with what it had.
func (r *Router) Reload() error {
	var cov *Coverage
	var geo *geoDB
	var top *Topology
	var errs []error
	if r.cfg.CoverageFile != "" {
		data, err := os.ReadFile(r.cfg.CoverageFile)
		if err == nil {
			cov, err = ParseCoverage(data, r.cfg.CoverageFile)
		}
		errs = append(errs, err)
	}
	if r.cfg.GeoIPFile != "" {
		var err error
		geo, err = openGeo(r.cfg.GeoIPFile)
		errs = append(errs, err)
	}
	if r.cfg.NodesFile != "" {
		data, err := os.ReadFile(r.cfg.NodesFile)
		if err == nil {
			top, err = ParseNodes(data, r.cfg.NodesFile)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		geo.close()
		return err
	}
	r.mu.Lock()
	old := r.geo
	r.cov, r.geo = cov, geo
	if top != nil {
		r.setTopologyLocked(top)
	}
	r.rebuildLocked()
	r.mu.Unlock()
	_ = old // the old database stays open: decisions running may still read it (it is mmap'ed and small)
	return nil
}

// setTopologyLocked takes a new set of POPs and nodes, starting and stopping probes to match.
func (r *Router) setTopologyLocked(top *Topology) {
	if r.cfg.DefaultPOP != "" {
		top.DefaultPOP = r.cfg.DefaultPOP
	}
	r.top = top
	want := map[string]string{}
	for _, p := range top.POPs {
		for _, n := range p.Nodes {
			want[n.Name] = n.Health
			if r.health[n.Name] == nil {
				h := &nodeHealth{up: n.Health == "", probed: n.Health == "", spare: 1}
				r.health[n.Name] = h
			}
		}
	}
	for name, ph := range r.probes {
		if want[name] != ph.url {
			ph.cancel()
			delete(r.probes, name)
		}
	}
	for name := range r.health {
		if _, ok := want[name]; !ok {
			delete(r.health, name)
		}
	}
	for name, url := range want {
		if url == "" || r.probes[name].url == url {
			continue
		}
		ctx, cancel := context.WithCancel(r.ctx)
		r.probes[name] = probeHandle{url: url, cancel: cancel}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			probe(ctx, r.client, url, r.cfg.ProbeInterval, func(ok bool) { r.probed(name, ok) })
		}()
	}
}

// probed takes one probe result of a node.
func (r *Router) probed(name string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.health[name]
	if h == nil {
		return
	}
	if h.probeResult(ok, r.cfg.Fall, r.cfg.Rise) {
		r.log.Info("router: node health", "node", name, "up", h.up)
		r.rebuildLocked()
	}
}

// rebuildLocked builds and swaps in the table.
func (r *Router) rebuildLocked() {
	if r.top == nil {
		return
	}
	hs := make(map[string]nodeHealth, len(r.health))
	for name, h := range r.health {
		hs[name] = *h
	}
	t := buildTable(r.top, r.cov, r.geo, hs)
	r.metrics.prepare(t)
	r.table.Store(t)
	r.serial.Add(1)
}

// Start serves the listeners configured and, with a control plane, follows it.
func (r *Router) Start() error {
	if r.cfg.DNSListen != "" {
		if err := r.startDNS(); err != nil {
			return err
		}
	}
	if r.cfg.HTTPListen != "" {
		if err := r.startHTTP("http", r.cfg.HTTPListen, r); err != nil {
			return err
		}
	}
	if r.cfg.MetricsListen != "" {
		if err := r.startHTTP("metrics", r.cfg.MetricsListen, r.adminHandler()); err != nil {
			return err
		}
	}
	if r.cfg.Control != "" {
		r.wg.Add(1)
		go r.followControl()
	}
	return nil
}

func (r *Router) startDNS() error {
	// TCP on the port UDP got. An ephemeral ":0" picks the UDP port alone, and that port may be
	// taken for TCP by another program: then a few more tries, each with a fresh port.
	_, port, _ := net.SplitHostPort(r.cfg.DNSListen)
	tries := 1
	if port == "0" {
		tries = 8
	}
	var err error
	for range tries {
		var udp *udpServer
		if udp, err = r.startUDP(r.cfg.DNSListen); err != nil {
			return fmt.Errorf("router: DNS: %w", err)
		}
		addr := udp.conns[0].LocalAddr().String()
		ln, lerr := net.Listen("tcp", addr)
		if lerr != nil {
			udp.close()
			err = fmt.Errorf("router: DNS over TCP: %w", lerr)
			continue
		}
		tcp := &dns.Server{Listener: ln, Handler: r, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
		go tcp.ActivateAndServe()
		r.servers = append(r.servers, tcp.ShutdownContext, func(context.Context) error { udp.close(); return nil })
		r.addrs["dns"] = addr
		return nil
	}
	return err
}

func (r *Router) startHTTP(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("router: %s: %w", name, err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelDebug)}
	go s.Serve(ln)
	r.servers = append(r.servers, s.Shutdown)
	r.addrs[name] = ln.Addr().String()
	return nil
}

// Addr is the bound address of a listener: "dns", "http" or "metrics"; "" when not started.
func (r *Router) Addr(name string) string { return r.addrs[name] }

func (r *Router) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		healthy := r.HealthyNodes()
		if healthy == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready\nno healthy node\n")
			return
		}
		fmt.Fprintf(w, "ready\npops %d\nhealthy_nodes %d\n", len(r.table.Load().pops), healthy)
	})
	return mux
}

// HealthyNodes counts the nodes in the answers now.
func (r *Router) HealthyNodes() int {
	n := 0
	for _, p := range r.table.Load().pops {
		n += len(p.healthy)
	}
	return n
}

// Close stops the listeners, the probes and the control plane's follower.
func (r *Router) Close() {
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, stop := range r.servers {
		stop(ctx)
	}
	r.wg.Wait()
}

// count records an answer in the metrics: by mode, POP and reason.
func (r *Router) count(t *table, mode int, d *Decision) {
	if d.POP < 0 {
		r.metrics.none[mode].Inc()
		return
	}
	t.counters[mode][d.POP][d.Reason].Inc()
}
