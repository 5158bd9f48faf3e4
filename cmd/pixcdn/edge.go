package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
)

// oneLine are the flags of "pixcdn edge -origin ORIGIN": a whole edge without a file.
type oneLine struct {
	origin, listen, cacheDir, admin, adminToken, host  string
	s3Endpoint, s3Region, s3Access, s3Secret, s3Prefix string
	s3PathStyle                                        bool
	defaultTTL                                         time.Duration
	noImages, noCompress, autoFormat                   bool // zero values: the config defaults
}

func cmdEdge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pixcdn edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o oneLine
	file := fs.String("config", "", "configuration `FILE` (YAML)")
	fs.StringVar(&o.origin, "origin", "", "serve any Host from this `ORIGIN`: http(s)://host[:port], s3://bucket[/prefix] or a directory")
	fs.StringVar(&o.listen, "listen", ":8080", "without -config: plain HTTP listen `ADDR`")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "without -config: disk cache `DIR` (default: memory only)")
	fs.StringVar(&o.admin, "admin", "", "without -config: admin API listen `ADDR` (purge, prefetch, metrics, health)")
	fs.StringVar(&o.adminToken, "admin-token", "", "without -config: bearer `TOKEN` the admin API requires (needed off loopback)")
	fs.StringVar(&o.host, "host", "", "with an http(s) origin: Host header sent to it (default: the origin URL's host)")
	fs.StringVar(&o.s3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS for the region)")
	fs.StringVar(&o.s3Region, "s3-region", "", "S3 region (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)")
	fs.StringVar(&o.s3Access, "s3-access-key", "", "S3 access key (default $AWS_ACCESS_KEY_ID; none: public bucket)")
	fs.StringVar(&o.s3Secret, "s3-secret-key", "", "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.BoolVar(&o.s3PathStyle, "s3-path-style", false, "S3 path-style addressing (MinIO, versitygw); default with a custom endpoint")
	images := fs.Bool("images", true, "with -origin: resize and re-encode images from URL parameters (docs/images.md)")
	fs.BoolVar(&o.autoFormat, "auto-format", false, "with -origin: answer AVIF/WebP by Accept for every transformed image, as auto=format does")
	compress := fs.Bool("compress", true, "with -origin: br/zstd/gzip for text by Accept-Encoding")
	fs.DurationVar(&o.defaultTTL, "default-ttl", 0, "with -origin: keep responses the origin sends without max-age or Expires fresh this `long` (e.g. 1h; default: the Last-Modified heuristic, at least 10s)")
	var cf clusterFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	o.noImages, o.noCompress = !*images, !*compress
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
	case cf.nats != "":
		cfg, err = o.nodeOnly(cf.nats)
	default:
		fmt.Fprintln(stderr, "pixcdn edge: need -config FILE, -origin ORIGIN or -nats URL")
		fs.Usage()
		return 2
	}
	if err == nil {
		err = cf.apply(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return serveUntilSignal(cfg, stderr, nil)
}

// clusterFlags start a node of a POP from the command line, with or without a file (they
// override its node_name and cluster section).
type clusterFlags struct {
	node, bind, join, secret, peerListen, peerAdvertise, parents                      string
	pop, nats, natsUser, natsPassword, natsToken, natsCA, natsCert, natsKey, stateDir string
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.node, "node-name", "", "this node's `NAME`, unique in its POP (Via, Cache-Status, gossip)")
	fs.StringVar(&f.bind, "cluster-bind", "", "gossip `HOST:PORT` of this node in its POP")
	fs.StringVar(&f.join, "cluster-join", "", "gossip `HOST:PORT[,HOST:PORT...]` of nodes already in the POP")
	fs.StringVar(&f.secret, "cluster-secret", "", "`SECRET` every node and tier shares (default $PIXCDN_CLUSTER_SECRET)")
	fs.StringVar(&f.peerListen, "peer-listen", "", "listen `ADDR` of the peer endpoint other nodes and tiers ask")
	fs.StringVar(&f.peerAdvertise, "peer-advertise", "", "`HOST:PORT` the other nodes reach the peer endpoint on (default -peer-listen)")
	fs.StringVar(&f.parents, "parent", "", "parent tier peer endpoints `URL[,URL...]`, asked before the origin")
	fs.StringVar(&f.pop, "pop", "", "the `POP` this node belongs to (control plane, router)")
	fs.StringVar(&f.nats, "nats", "", "the control plane's NATS `URL[,URL...]`: take domains, purges and prefetches from it")
	fs.StringVar(&f.natsUser, "nats-user", "", "NATS user")
	fs.StringVar(&f.natsPassword, "nats-password", "", "NATS password (default $PIXCDN_NATS_PASSWORD)")
	fs.StringVar(&f.natsToken, "nats-token", "", "NATS token (default $PIXCDN_NATS_TOKEN)")
	fs.StringVar(&f.natsCA, "nats-ca", "", "CA `FILE` of the NATS servers' certificates")
	fs.StringVar(&f.natsCert, "nats-cert", "", "client certificate `FILE` for NATS")
	fs.StringVar(&f.natsKey, "nats-key", "", "client key `FILE` for NATS")
	fs.StringVar(&f.stateDir, "state-dir", "", "`DIR` keeping the last good configuration from the control plane (default <cache dir>/control)")
}

// apply writes the flags that were given into cfg and validates it again.
func (f *clusterFlags) apply(cfg *config.Config) error {
	cl := &cfg.Cluster
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.NodeName, f.node)
	set(&cl.Bind, f.bind)
	set(&cl.PeerListen, f.peerListen)
	set(&cl.PeerAdvertise, f.peerAdvertise)
	set(&cl.Secret, f.secret)
	if cl.Secret == "" && cl.Enabled() {
		cl.Secret = os.Getenv("PIXCDN_CLUSTER_SECRET")
	}
	if f.join != "" {
		cl.Join = strings.Split(f.join, ",")
	}
	if f.parents != "" {
		cl.Parents = strings.Split(f.parents, ",")
	}
	ct := &cfg.Control
	set(&cfg.POP, f.pop)
	set(&ct.NATS, f.nats)
	set(&ct.User, f.natsUser)
	set(&ct.Password, f.natsPassword)
	set(&ct.Token, f.natsToken)
	set(&ct.CA, f.natsCA)
	set(&ct.Cert, f.natsCert)
	set(&ct.Key, f.natsKey)
	set(&ct.StateDir, f.stateDir)
	if ct.Enabled() {
		if ct.Token == "" && ct.User == "" {
			ct.Token = os.Getenv("PIXCDN_NATS_TOKEN")
		}
		if ct.User != "" && ct.Password == "" {
			ct.Password = os.Getenv("PIXCDN_NATS_PASSWORD")
		}
	}
	if *f == (clusterFlags{}) {
		return nil
	}
	return cfg.Validate()
}

// nodeOnly is a node whose domains all come from the control plane at natsURL: the one-line
// flags give its listeners and cache.
func (o *oneLine) nodeOnly(natsURL string) (*config.Config, error) {
	var b strings.Builder
	o.nodeYAML(&b)
	fmt.Fprintf(&b, "control:\n  nats: %q\n", natsURL)
	return config.Parse([]byte(b.String()), "(command line)")
}

func (o *oneLine) nodeYAML(b *strings.Builder) {
	fmt.Fprintf(b, "listen: %q\n", o.listen)
	if o.admin != "" {
		fmt.Fprintf(b, "admin:\n  listen: %q\n  token: %q\n", o.admin, o.adminToken)
	}
	if o.cacheDir != "" {
		fmt.Fprintf(b, "cache:\n  dir: %q\n", o.cacheDir)
	}
}

// config writes the one-line start as a configuration document and parses it, so that it is
// validated (and defaulted) exactly like a file.
func (o *oneLine) config() (*config.Config, error) {
	originYAML, err := o.originYAML()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	o.nodeYAML(&b)
	fmt.Fprintf(&b, "domains:\n  - name: \"*\"\n    origin:\n%s", originYAML)
	fmt.Fprintf(&b, "    images: {enabled: %t, auto_format: %t}\n    compress: {enabled: %t}\n", !o.noImages, o.autoFormat, !o.noCompress)
	if o.defaultTTL != 0 {
		fmt.Fprintf(&b, "    cache: {default_ttl: %q}\n", o.defaultTTL.String())
	}
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
