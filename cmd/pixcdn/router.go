package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pixcdn/pixcdn/internal/router"
)

const routerUsage = `usage: pixcdn router -zone ZONE (-nodes FILE | -control URL) [-dns HOST:PORT] [-http HOST:PORT] [flags]

Sends each client to a good node: an authoritative DNS server for ZONE (each domain's CNAME
target is <domain>.<ZONE>) and/or an HTTP server answering 302 to the node that holds the URL.
Clients are placed in a POP by -coverage (longest prefix), else -geoip and the POPs'
coordinates, else the default POP; inside it, healthy nodes only. SIGHUP reloads the files.
`

func cmdRouter(args []string, stdout, stderr io.Writer) int {
	var cfg router.Config
	fs := flag.NewFlagSet("pixcdn router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, routerUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.Zone, "zone", "", "the DNS `ZONE` answered, e.g. cdn.example.net")
	fs.StringVar(&cfg.DNSListen, "dns", "", "DNS listen `HOST:PORT` (UDP and TCP)")
	fs.StringVar(&cfg.HTTPListen, "http", "", "HTTP 302 listen `HOST:PORT`")
	fs.StringVar(&cfg.MetricsListen, "metrics", "", "`HOST:PORT` of /metrics, /healthz and /readyz")
	fs.StringVar(&cfg.NodesFile, "nodes", "", "POPs and nodes `FILE` (YAML, docs/router.md)")
	fs.StringVar(&cfg.Control, "control", "", "the control plane's API `URL`: nodes, domains and load from it")
	fs.StringVar(&cfg.ControlToken, "token", "", "the control plane's bearer `TOKEN` (default $PIXCDN_CONTROL_TOKEN)")
	fs.StringVar(&cfg.CoverageFile, "coverage", "", "coverage-zone `FILE` (Traffic Control JSON)")
	fs.StringVar(&cfg.GeoIPFile, "geoip", "", "GeoIP `FILE` (MaxMind .mmdb with locations)")
	fs.StringVar(&cfg.DefaultPOP, "default-pop", "", "`POP` for clients nothing else places")
	fs.DurationVar(&cfg.TTL, "ttl", 0, "TTL of the DNS answers (default 20s)")
	fs.IntVar(&cfg.Answers, "answers", 0, "A/AAAA records per answer (default 2)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", 0, "between health probes of a node (default 1s)")
	fs.Float64Var(&cfg.MaxRPS, "max-rps", 0, "with -control: requests/s past which a node leaves the answers (0 = none)")
	fs.Float64Var(&cfg.MaxMbps, "max-mbps", 0, "with -control: Mbit/s past which a node leaves the answers (0 = none)")
	fs.Float64Var(&cfg.MaxCPU, "max-cpu", 0, "with -control: CPU percent past which a node leaves the answers (0 = none)")
	ns := fs.String("ns", "", "name servers of the zone `NAME[,NAME]` (default ns1.ZONE)")
	trusted := fs.String("trusted-proxies", "", "`CIDR[,CIDR]` whose X-Forwarded-For the HTTP mode believes")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if cfg.ControlToken == "" {
		cfg.ControlToken = os.Getenv(envControlToken)
	}
	if *ns != "" {
		cfg.NS = strings.Split(*ns, ",")
	}
	for _, c := range strings.Split(*trusted, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			fmt.Fprintf(stderr, "pixcdn router: -trusted-proxies %q: %v\n", c, err)
			return 2
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	if cfg.DNSListen == "" && cfg.HTTPListen == "" {
		fmt.Fprintln(stderr, "pixcdn router: nothing to serve: give -dns HOST:PORT and/or -http HOST:PORT")
		return 2
	}
	var lv slog.Level
	lv.UnmarshalText([]byte(*level))
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	r, err := router.New(cfg)
	if err == nil {
		err = r.Start()
	}
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn router:", err)
		if r != nil {
			r.Close()
		}
		return 1
	}
	defer r.Close()
	fmt.Fprintf(stdout, "router: zone %s dns %s http %s metrics %s\n", cfg.Zone, r.Addr("dns"), r.Addr("http"), r.Addr("metrics"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-hup:
			if err := r.Reload(); err != nil {
				cfg.Logger.Error("router: reload failed; the running files stay", "err", err)
			} else {
				cfg.Logger.Info("router: reloaded")
			}
		}
	}
}
