package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/store"
)

// oneLine are the flags of "pixcdn edge -origin ORIGIN": a whole edge without a file.
type oneLine struct {
	origin, listen, cacheDir, admin, adminToken, host  string
	s3Endpoint, s3Region, s3Access, s3Secret, s3Prefix string
	s3PathStyle                                        bool
}

func cmdEdge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pixcdn edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o oneLine
	file := fs.String("config", "", "configuration `FILE` (YAML)")
	fs.StringVar(&o.origin, "origin", "", "serve any Host from this `ORIGIN`: http(s)://host[:port], s3://bucket[/prefix] or a directory")
	fs.StringVar(&o.listen, "listen", ":8080", "with -origin: plain HTTP listen `ADDR`")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "with -origin: disk cache `DIR` (default: memory only)")
	fs.StringVar(&o.admin, "admin", "", "with -origin: admin API listen `ADDR` (purge, prefetch, metrics, health)")
	fs.StringVar(&o.adminToken, "admin-token", "", "with -origin: bearer `TOKEN` the admin API requires (needed off loopback)")
	fs.StringVar(&o.host, "host", "", "with an http(s) origin: Host header sent to it (default: the origin URL's host)")
	fs.StringVar(&o.s3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS for the region)")
	fs.StringVar(&o.s3Region, "s3-region", "", "S3 region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)")
	fs.StringVar(&o.s3Access, "s3-access-key", "", "S3 access key (default $AWS_ACCESS_KEY_ID; none: public bucket)")
	fs.StringVar(&o.s3Secret, "s3-secret-key", "", "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.BoolVar(&o.s3PathStyle, "s3-path-style", false, "S3 path-style addressing (MinIO, versitygw); default with a custom endpoint")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var (
		cfg *config.Config
		err error
	)
	switch {
	case *file != "" && o.origin != "":
		fmt.Fprintln(stderr, "pixcdn edge: -config and -origin exclude each other")
		return 2
	case *file != "":
		cfg, err = config.Load(*file)
	case o.origin != "":
		cfg, err = o.config()
	default:
		fmt.Fprintln(stderr, "pixcdn edge: need -config FILE or -origin ORIGIN")
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return serveUntilSignal(cfg, stderr, nil)
}

// config writes the one-line start as a configuration document and parses it, so that it is
// validated (and defaulted) exactly like a file.
func (o *oneLine) config() (*config.Config, error) {
	originYAML, err := o.originYAML()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\n", o.listen)
	if o.admin != "" {
		fmt.Fprintf(&b, "admin:\n  listen: %q\n  token: %q\n", o.admin, o.adminToken)
	}
	if o.cacheDir != "" {
		fmt.Fprintf(&b, "cache:\n  dir: %q\n", o.cacheDir)
	}
	fmt.Fprintf(&b, "domains:\n  - name: \"*\"\n    origin:\n%s", originYAML)
	return config.Parse([]byte(b.String()), "(command line)")
}

func (o *oneLine) originYAML() (string, error) {
	u, err := url.Parse(o.origin)
	if err != nil || u.Scheme == "" {
		root, err := filepath.Abs(o.origin)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("      root: %q\n", root), nil
	}
	switch u.Scheme {
	case "http", "https":
		host := o.host
		if host == "" {
			host = u.Host
		}
		return fmt.Sprintf("      servers:\n        - url: %q\n      host: %q\n", u.Scheme+"://"+u.Host+u.Path, host), nil
	case "s3":
		return o.s3YAML(u), nil
	}
	return "", fmt.Errorf("pixcdn edge: -origin %q: want http://, https://, s3:// or a directory", o.origin)
}

func (o *oneLine) s3YAML(u *url.URL) string {
	env := func(v string, names ...string) string {
		for _, n := range names {
			if v == "" {
				v = os.Getenv(n)
			}
		}
		return v
	}
	region := env(o.s3Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	if region == "" {
		region = "us-east-1"
	}
	endpoint := env(o.s3Endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	pathStyle := o.s3PathStyle || endpoint != ""
	if endpoint == "" {
		endpoint = "https://s3." + region + ".amazonaws.com"
	}
	prefix := strings.Trim(u.Path, "/") // s3://bucket/static serves keys "static/..."
	if prefix != "" {
		prefix += "/"
	}
	return fmt.Sprintf("      s3:\n        endpoint: %q\n        bucket: %q\n        region: %q\n        prefix: %q\n        path_style: %v\n        access_key: %q\n        secret_key: %q\n        session_token: %q\n",
		endpoint, u.Host, region, prefix, pathStyle,
		env(o.s3Access, "AWS_ACCESS_KEY_ID"), env(o.s3Secret, "AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
}

// serveUntilSignal runs an edge until SIGINT or SIGTERM.
func serveUntilSignal(cfg *config.Config, stderr io.Writer, ready func(r running)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, stderr, ready)
}

// running is what serve has started.
type running struct {
	edge      *edge.Server
	adminAddr string // "" without an admin listener
}

// serve runs an edge (and its admin listener) until ctx is done, then stops gracefully and
// closes the store. ready, when set, is called once everything listens.
func serve(ctx context.Context, cfg *config.Config, stderr io.Writer, ready func(r running)) int {
	log := newLogger(cfg.Log, stderr)
	setMemoryLimit(cfg, log)
	st, err := store.Open(storeConfig(cfg, log))
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn: cache:", err)
		return 1
	}
	defer st.Close()
	srv, err := edge.New(cfg, st, edge.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn:", err)
		return 1
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(stderr, "pixcdn: listen:", err)
		return 1
	}
	var adm *admin.Server
	if cfg.Admin.Listen != "" {
		acfg := admin.Config{
			Listen: cfg.Admin.Listen, Token: cfg.Admin.Token, Logger: log,
			Stats: func() any { return map[string]any{"edge": srv.StatsSnapshot(), "store": st.Stats()} },
		}
		if adm, err = admin.New(acfg, adminEdge{s: srv, path: cfg.File}); err != nil {
			fmt.Fprintln(stderr, "pixcdn: admin:", err)
			srv.Shutdown(context.Background())
			return 1
		}
		log.Info("admin listening", "addr", adm.Addr())
	}
	log.Info("edge listening", "http", srv.Addr(), "https", srv.TLSAddr(), "domains", len(cfg.Domains), "cache_dir", cfg.Cache.Dir)
	if ready != nil {
		r := running{edge: srv}
		if adm != nil {
			r.adminAddr = adm.Addr()
		}
		ready(r)
	}
	waitAndReload(ctx, cfg, srv, log)
	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.D())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	err = srv.Shutdown(sctx)
	if adm != nil {
		adm.Close()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	return 0
}

// waitAndReload serves until ctx ends, reloading the configuration file on SIGHUP: the new
// file is loaded and validated completely, then swapped in; on any error the running
// configuration stays and the reason is logged.
func waitAndReload(ctx context.Context, cfg *config.Config, srv *edge.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := reloadFile(cfg.File, srv); err != nil {
				log.Error("reload failed; the running configuration stays", "err", err)
			}
		}
	}
}

// reloadFile re-reads path (the file the edge started from) into srv.
func reloadFile(path string, srv *edge.Server) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no configuration file to reload (%s)", path)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	return srv.Reload(cfg)
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
