package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one edge process. Field comments give the default that
// Load and Parse apply when the key is absent.
type Config struct {
	File      string       `yaml:"-"`          // the path it was loaded from
	NodeName  string       `yaml:"node_name"`  // used in Via and Cache-Status; default "pixcdn"
	POP       string       `yaml:"pop"`        // the point of presence the node belongs to (control plane, router); default "default"
	Listen    string       `yaml:"listen"`     // plain HTTP; default ":8080"; "off" disables
	TLSListen string       `yaml:"tls_listen"` // HTTPS (HTTP/1.1 + HTTP/2 on TCP, HTTP/3 on UDP); default "" (off); required when any domain has tls
	Admin     Admin        `yaml:"admin"`
	Server    Server       `yaml:"server"`
	Cache     Cache        `yaml:"cache"`
	Log       Log          `yaml:"log"`
	Images    ImageService `yaml:"images"`
	Cluster   Cluster      `yaml:"cluster"`
	Control   Control      `yaml:"control"`
	Domains   []Domain     `yaml:"domains"` // at least one, unless the control plane gives them

	// lines maps a field path ("domains[1].origin.servers[0].url") to the line it was written
	// on, so errors found after decoding can still point into the file.
	lines map[string]int
	// index is built by Parse for Domain; nil on a Config built in Go code.
	index *domainIndex
}

// Cluster makes the node one of a POP whose nodes share one cache, and a child of parent tiers
// (internal/cluster). Off while PeerListen is empty.
type Cluster struct {
	PeerListen    string   `yaml:"peer_listen"`    // the peer endpoint's listen address; "" = no cluster
	PeerAdvertise string   `yaml:"peer_advertise"` // host:port the other nodes reach it on; default peer_listen
	Bind          string   `yaml:"bind"`           // gossip address host:port; "" = no POP: a lone node (a parent, or a child of one)
	Join          []string `yaml:"join"`           // seeds: gossip addresses of nodes of the POP
	Secret        string   `yaml:"secret"`         // shared by every node and tier; "${NAME}" from the environment; 16+ characters
	Parents       []string `yaml:"parents"`        // peer endpoints (http://host:port) of the parent tier, asked in order
	HotRate       float64  `yaml:"hot_rate"`       // 10: requests/s per key above which a node keeps a copy of a peer's object
}

// Enabled reports whether the node takes part in a cluster or tier.
func (c *Cluster) Enabled() bool { return c.PeerListen != "" }

// Control joins the node to the control plane (internal/control/agent) over NATS: the domains
// come from it (the file's own domains serve only until its first version arrives), purges and
// prefetches reach the node through it, and the node reports its version and stats to it. Off
// while NATS is empty.
type Control struct {
	NATS     string `yaml:"nats"`      // nats://host:port[,nats://host:port...] (tls:// for TLS); "" = no control plane
	User     string `yaml:"user"`      // NATS user (with password)
	Password string `yaml:"password"`  // "${NAME}" from the environment
	Token    string `yaml:"token"`     // NATS token instead of user/password; "${NAME}" from the environment
	CA       string `yaml:"ca"`        // PEM file of the CA that signed the NATS servers' certificates
	Cert     string `yaml:"cert"`      // client certificate (PEM) for servers that verify clients
	Key      string `yaml:"key"`       // its key
	StateDir string `yaml:"state_dir"` // last good configuration and purge position; default <cache.dir>/control
	// Advertise are the IP addresses clients reach this node on, told to the router through
	// the control plane; default the host of listen when it is one IP address.
	Advertise []string `yaml:"advertise"`
}

// Enabled reports whether the node is run by a control plane.
func (c *Control) Enabled() bool { return c.NATS != "" }

// ListenOff is the value of Listen that disables the plain HTTP listener.
const ListenOff = "off"

// Admin is the admin listener (purge, metrics, health; served by a later change).
type Admin struct {
	Listen string `yaml:"listen"` // default "" = off; must be loopback unless Token is set
	Token  string `yaml:"token"`  // bearer token; "${NAME}" is read from the environment
}

// Log configures the process logger (log/slog).
type Log struct {
	Metrics      bool   `yaml:"metrics"`       // per-request Prometheus series; default true
	Level        string `yaml:"level"`         // debug|info|warn|error; default info
	Format       string `yaml:"format"`        // text|json; default text
	AccessLog    string `yaml:"access_log"`    // access log file; "" = off, "-" = stdout
	AccessFormat string `yaml:"access_format"` // json|combined; default json
}

// Server holds the limits of the client-facing HTTP servers.
type Server struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"` // 10s
	ReadTimeout       Duration `yaml:"read_timeout"`        // 60s (whole request incl. body); 0 = none
	WriteTimeout      Duration `yaml:"write_timeout"`       // 0 = none (large downloads); slow readers are cut by SendTimeout
	SendTimeout       Duration `yaml:"send_timeout"`        // 60s: max time one write to the client may block; 0 = none
	IdleTimeout       Duration `yaml:"idle_timeout"`        // 120s; 0 = ReadTimeout (net/http semantics)
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`    // 30s: how long a graceful stop waits for requests in flight
	MaxHeaderBytes    Size     `yaml:"max_header_bytes"`    // 64KiB
	MaxURLBytes       Size     `yaml:"max_url_bytes"`       // 8KiB → 414
	MaxBodyBytes      Size     `yaml:"max_body_bytes"`      // 10MiB for passed-through request bodies → 413
	HTTP1             string   `yaml:"http1"`               // plain-HTTP server: "native" (default, internal/h1) or "stdlib" (net/http)
	// EventLoops serves plain HTTP/1.1 connections of the native server from this many event
	// loops (Linux), which answer memory-tier hits inline and hand every other request's
	// connection to a goroutine of its own; auto (default) = one per CPU, off = goroutines only.
	EventLoops     Loops    `yaml:"event_loops"`
	TrustedProxies []string `yaml:"trusted_proxies"` // CIDRs whose X-Forwarded-For is believed for the client IP
	TLSMinVersion  string   `yaml:"tls_min_version"` // "1.2" (default) or "1.3"
	// HTTP3 serves HTTP/3 (QUIC) on the UDP port of tls_listen beside HTTP/1.1 and HTTP/2 on
	// TCP, advertised with Alt-Svc; default true. Clients that cannot reach the UDP port keep
	// using TCP, so turning it on costs them nothing.
	HTTP3 bool `yaml:"http3"`
}

// Cache sizes the storage shared by all domains.
type Cache struct {
	Dir             string `yaml:"dir"`               // "" = memory only
	MemorySize      Size   `yaml:"memory_size"`       // 256MiB
	MemoryObjectMax Size   `yaml:"memory_object_max"` // 1MiB; larger bodies stream to the client while stored on disk
	DiskSize        Size   `yaml:"disk_size"`         // 10GiB (only with dir)
	SegmentSize     Size   `yaml:"segment_size"`      // 64MiB
	MaxObjectSize   Size   `yaml:"max_object_size"`   // 1GiB: larger responses are passed through, not stored
}

// Domain is one site served by the edge, selected by the request's Host.
type Domain struct {
	Name     string      `yaml:"name"` // host name, lowercase; "*.example.com" matches one label; unique across all names and aliases
	Aliases  []string    `yaml:"aliases"`
	TLS      *TLS        `yaml:"tls"` // nil = no certificate for this domain
	Origin   Origin      `yaml:"origin"`
	Cache    DomainCache `yaml:"cache"`
	Access   Access      `yaml:"access"`
	Compress Compress    `yaml:"compress"`
	Images   Images      `yaml:"images"`
	// ServerTiming sends each response's Cache-Status again as Server-Timing (cdn-cache), which
	// a page can read for its own loads from the Resource Timing API; default false.
	ServerTiming bool `yaml:"server_timing"`
	// EarlyHints: what the node does with 103 Early Hints (RFC 8297).
	EarlyHints EarlyHints `yaml:"early_hints"`
	// HTTP3 advertises HTTP/3 for the domain (Alt-Svc on its HTTPS responses over TCP) while
	// server.http3 is on; default true. Off, requests that still arrive over HTTP/3 (from a
	// client that remembered an earlier Alt-Svc) are answered, with Alt-Svc: clear.
	HTTP3 bool `yaml:"http3"`
}

// EarlyHints are a domain's 103 Early Hints settings: a 103 lets a browser preload a page's
// images and styles before the page itself arrives.
type EarlyHints struct {
	Relay     bool `yaml:"relay"`      // true: pass an upstream's 103 on to the client while its miss or pass waits
	FromCache bool `yaml:"from_cache"` // send a 103 of the stored copy's preload Link fields before answering from it or revalidating it
}

// TLS names PEM files; both must exist and load as a key pair at validation. A reload
// re-reads them, so renewed certificates take effect without a restart.
type TLS struct {
	Cert      string `yaml:"cert"`
	Key       string `yaml:"key"`
	HTTPSOnly bool   `yaml:"https_only"` // plain-HTTP requests get 301 to https://
	HSTS      *HSTS  `yaml:"hsts"`       // Strict-Transport-Security on HTTPS responses
}

// HSTS is the Strict-Transport-Security policy of a domain.
type HSTS struct {
	MaxAge            Duration `yaml:"max_age"` // e.g. 8760h (a year); at least 1s
	IncludeSubdomains bool     `yaml:"include_subdomains"`
	Preload           bool     `yaml:"preload"`
}

// Header is the Strict-Transport-Security value.
func (h *HSTS) Header() string {
	v := "max-age=" + strconv.FormatInt(int64(h.MaxAge.D()/time.Second), 10)
	if h.IncludeSubdomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}

// Origin types.
const (
	OriginHTTP = "http"
	OriginS3   = "s3"
	OriginFS   = "fs"
)

// Origin is where a domain's content comes from. Type is filled in by Parse when the document
// leaves it out, so the edge can switch on it.
type Origin struct {
	Type string `yaml:"type"` // http | s3 | fs; may be omitted when exactly one of servers / s3 / root is set

	// http
	Servers          []OriginServer `yaml:"servers"`
	Host             string         `yaml:"host"`              // Host header sent to every server unless the server overrides it; "" = see cache.key_host
	ConnectTimeout   Duration       `yaml:"connect_timeout"`   // 5s
	ResponseTimeout  Duration       `yaml:"response_timeout"`  // 30s: until the response headers
	FailThreshold    int            `yaml:"fail_threshold"`    // 3 consecutive failures mark a server down
	FailCooldown     Duration       `yaml:"fail_cooldown"`     // 10s before a down server is tried again
	FailoverStatuses []int          `yaml:"failover_statuses"` // none: statuses that count as failure and move on to the next server
	MaxConcurrent    int            `yaml:"max_concurrent"`    // 256: per-origin limit on requests in flight
	MaxWait          Duration       `yaml:"max_wait"`          // 10s: how long a request waits for a slot → 503
	MaxHeaderBytes   Size           `yaml:"max_header_bytes"`  // 64KiB: a larger response header block is answered 502 (http and s3)

	// s3
	S3 *S3 `yaml:"s3"`

	// fs
	Root         string `yaml:"root"`
	IndexFile    string `yaml:"index_file"`    // index.html
	CacheControl string `yaml:"cache_control"` // fs only: Cache-Control added to files
}

// OriginServer is one HTTP(S) origin server. Lower Priority is tried first; servers of equal
// priority share load by Weight.
type OriginServer struct {
	URL                string `yaml:"url"`
	Priority           int    `yaml:"priority"` // 0 = primary; higher numbers are backups
	Weight             int    `yaml:"weight"`   // 1
	Host               string `yaml:"host"`     // Host header override for this server
	SNI                string `yaml:"sni"`      // TLS server name override
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// S3 is an S3-compatible bucket (AWS S3, Alibaba OSS, MinIO...). Without keys requests are
// unsigned (public bucket); with keys they are signed with SigV4.
type S3 struct {
	Endpoint     string `yaml:"endpoint"`      // http(s)://host[:port]
	Bucket       string `yaml:"bucket"`        // required
	Region       string `yaml:"region"`        // us-east-1
	AccessKey    string `yaml:"access_key"`    // "${NAME}" is read from the environment
	SecretKey    string `yaml:"secret_key"`    // "${NAME}" is read from the environment
	SessionToken string `yaml:"session_token"` // "${NAME}" is read from the environment
	Prefix       string `yaml:"prefix"`        // key prefix prepended to the request path, no leading "/"
	PathStyle    bool   `yaml:"path_style"`    // endpoint/bucket/key instead of bucket.endpoint/key
}

// DomainCache is a domain's caching policy on top of what the origin says.
type DomainCache struct {
	HeuristicPercent  int              `yaml:"heuristic_percent"`    // 10 (0-100) of the Last-Modified age
	HeuristicMin      Duration         `yaml:"heuristic_min"`        // 10s
	HeuristicMax      Duration         `yaml:"heuristic_max"`        // 1h
	DefaultTTL        Duration         `yaml:"default_ttl"`          // 0: freshness when the origin gives none, instead of the heuristic
	StaleIfOriginDown Duration         `yaml:"stale_if_origin_down"` // 24h: serve stale content this long past expiry while the origin fails; 0 disables
	Rules             []CacheRule      `yaml:"rules"`
	StatusTTL         map[int]Duration `yaml:"status_ttl"`    // e.g. 404: 10s — overrides the origin's freshness for that status; 0 = do not store
	MaxErrorTTL       Duration         `yaml:"max_error_ttl"` // 10s: the longest a 5xx stays fresh unless status_ttl names its status
	Query             QueryKey         `yaml:"query"`
	KeyHost           *bool            `yaml:"key_host"`    // nil: true when a name of the domain is a wildcard
	KeyHeaders        []string         `yaml:"key_headers"` // request fields that are part of the cache key, canonical
}

// KeysHost reports whether the request's host is part of the cache key (and so the Host the
// origin sees); nil KeyHost means yes for a domain with a wildcard name, no otherwise.
func (d *Domain) KeysHost() bool {
	if d.Cache.KeyHost != nil {
		return *d.Cache.KeyHost
	}
	if strings.HasPrefix(d.Name, "*.") {
		return true
	}
	for _, a := range d.Aliases {
		if strings.HasPrefix(a, "*.") {
			return true
		}
	}
	return false
}

// CanonicalHost is a request's Host as domains are matched by it: lowercase, without port
// or trailing dot, IPv6 literals without brackets.
func CanonicalHost(host string) string { return canonicalHost(host) }

// CacheRule overrides the origin's freshness for matching requests: the matching rule with the
// highest priority wins (ties: the earlier rule). A rule matches when the path has Prefix (if set)
// AND its extension is in Extensions (if set); at least one of the two must be set. TTL 0 with
// Bypass false is invalid; Bypass true means never cache.
type CacheRule struct {
	Prefix     string   `yaml:"prefix"`
	Extensions []string `yaml:"extensions"` // ".css" or "css", normalised to ".css" lowercase
	TTL        Duration `yaml:"ttl"`
	Priority   int      `yaml:"priority"`
	Bypass     bool     `yaml:"bypass"`
}

// Query key modes.
const (
	QueryKeepAll = "keep_all"
	QueryDropAll = "drop_all"
	QueryKeep    = "keep"
	QueryDrop    = "drop"
)

// QueryKey says which query parameters are part of the cache key.
type QueryKey struct {
	Mode   string   `yaml:"mode"`   // keep_all (default) | drop_all | keep | drop
	Params []string `yaml:"params"` // required for keep and drop
	Sort   *bool    `yaml:"sort"`   // default true: parameter order does not matter for the key
}

// Sorted reports whether parameters are sorted before keying; nil means the default, true.
func (q QueryKey) Sorted() bool { return q.Sort == nil || *q.Sort }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Plain-HTTP server implementations (server.http1).
const (
	HTTP1Native = "native" // internal/h1: the fast path for HTTP/1.1 hits
	HTTP1Stdlib = "stdlib" // net/http
)

// Version names a configuration by its content: the first 16 hex digits of a SHA-256 of its
// decoded form (not of the file's bytes: comments and key order do not count), so that equal
// configurations on every node give equal versions and a control plane can tell which one
// each node runs.
func (c *Config) Version() string {
	v := *c
	v.File = ""
	b, err := json.Marshal(&v)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
