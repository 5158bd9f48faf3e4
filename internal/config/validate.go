package config

import (
	"crypto/tls"
	"fmt"
	"github.com/pixcdn/pixcdn/internal/access"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validate reports every problem of c into p. It never stops at the first one: an operator
// should see the whole list before the next attempt.
func (c *Config) validate(p *problems) {
	if !isToken(c.NodeName) {
		p.add("node_name", fmt.Sprintf("%q must be 1-64 letters, digits, '.', '-' or '_' (it is sent in Via and Cache-Status)", c.NodeName))
	}
	if !isToken(c.POP) {
		p.add("pop", fmt.Sprintf("%q must be 1-64 letters, digits, '.', '-' or '_'", c.POP))
	}
	c.validateListeners(p)
	c.validateLog(p)
	c.Server.validate(p)
	c.Cache.validate(p)
	c.Images.validate(p)
	c.Cluster.validate(p)
	c.Control.validate(p)
	c.validateDomains(p)
}

func (c *Control) validate(p *problems) {
	if !c.Enabled() {
		for _, f := range []struct {
			name string
			set  bool
		}{{"user", c.User != ""}, {"password", c.Password != ""}, {"token", c.Token != ""}, {"ca", c.CA != ""},
			{"cert", c.Cert != ""}, {"key", c.Key != ""}, {"state_dir", c.StateDir != ""}, {"advertise", len(c.Advertise) > 0}} {
			if f.set {
				p.add("control."+f.name, "needs control.nats (the NATS servers of the control plane)")
			}
		}
		return
	}
	for _, raw := range strings.Split(c.NATS, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || u.User != nil {
			p.add("control.nats", fmt.Sprintf("%q: want nats://host:port or tls://host:port, comma-separated, credentials in control.user/password or control.token", raw))
		}
	}
	if (c.User == "") != (c.Password == "") {
		p.add("control.password", "control.user and control.password go together")
	}
	if c.Token != "" && c.User != "" {
		p.add("control.token", "give a token or a user and password, not both")
	}
	if (c.Cert == "") != (c.Key == "") {
		p.add("control.key", "control.cert and control.key go together")
	} else if c.Cert != "" {
		if _, err := tls.LoadX509KeyPair(c.Cert, c.Key); err != nil {
			p.addMachine("control.cert", fmt.Sprintf("cannot load key pair: %v", err))
		}
	}
	if c.CA != "" {
		if _, err := os.ReadFile(c.CA); err != nil {
			p.addMachine("control.ca", err.Error())
		}
	}
	for i, a := range c.Advertise {
		if ip := net.ParseIP(a); ip == nil || ip.IsUnspecified() {
			p.add(fmt.Sprintf("control.advertise[%d]", i), fmt.Sprintf("%q: want an IP address clients reach the node on", a))
		}
	}
}

func (cl *Cluster) validate(p *problems) {
	if !cl.Enabled() {
		for _, f := range []struct {
			name string
			set  bool
		}{{"bind", cl.Bind != ""}, {"join", len(cl.Join) > 0}, {"parents", len(cl.Parents) > 0}, {"peer_advertise", cl.PeerAdvertise != ""}} {
			if f.set {
				p.add("cluster."+f.name, "needs cluster.peer_listen (the endpoint other nodes and tiers are asked on)")
			}
		}
		return
	}
	checkAddr(p, "cluster.peer_listen", cl.PeerListen)
	adv := cl.PeerAdvertise
	if adv == "" {
		adv = cl.PeerListen
	}
	if host, port, err := net.SplitHostPort(adv); err != nil || host == "" || port == "0" || net.ParseIP(host).IsUnspecified() {
		field := "cluster.peer_advertise"
		if cl.PeerAdvertise == "" {
			field = "cluster.peer_listen"
		}
		p.add(field, fmt.Sprintf("%q: other nodes need a reachable host:port (set cluster.peer_advertise)", adv))
	}
	if len(cl.Secret) < 16 {
		p.add("cluster.secret", "must be at least 16 characters (nodes and tiers authenticate with it)")
	}
	if cl.Bind != "" {
		checkAddr(p, "cluster.bind", cl.Bind)
	} else if len(cl.Join) > 0 {
		p.add("cluster.join", "needs cluster.bind (this node's gossip address)")
	}
	for i, j := range cl.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			p.add(fmt.Sprintf("cluster.join[%d]", i), fmt.Sprintf("%q is not host:port", j))
		}
	}
	for i, u := range cl.Parents {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || (pu.Path != "" && pu.Path != "/") {
			p.add(fmt.Sprintf("cluster.parents[%d]", i), fmt.Sprintf("%q: want http://host:port of a parent's peer endpoint", u))
		}
	}
	if cl.HotRate < 0 {
		p.add("cluster.hot_rate", "must not be negative")
	}
}

func (c *Config) validateListeners(p *problems) {
	if c.Listen != ListenOff {
		checkAddr(p, "listen", c.Listen)
	}
	if c.TLSListen != "" {
		checkAddr(p, "tls_listen", c.TLSListen)
	}
	if c.Listen == ListenOff && c.TLSListen == "" {
		p.add("listen", `is "off" and tls_listen is empty: the edge would not listen anywhere`)
	}
	if c.Admin.Listen != "" && checkAddr(p, "admin.listen", c.Admin.Listen) {
		if host, _, _ := net.SplitHostPort(c.Admin.Listen); !isLoopback(host) && c.Admin.Token == "" {
			p.add("admin.listen", fmt.Sprintf("%q is not a loopback address: set admin.token, or listen on 127.0.0.1", c.Admin.Listen))
		}
	}
	seen := map[string]string{}
	for _, l := range []struct{ field, addr string }{{"listen", c.Listen}, {"tls_listen", c.TLSListen}, {"admin.listen", c.Admin.Listen}} {
		if l.addr == "" || l.addr == ListenOff || strings.HasSuffix(l.addr, ":0") {
			continue
		}
		if other, dup := seen[l.addr]; dup {
			p.add(l.field, fmt.Sprintf("%q is also %s", l.addr, other))
		}
		seen[l.addr] = l.field
	}
}

// checkAddr validates a listen address "host:port" (host may be empty for all interfaces).
func checkAddr(p *problems, field, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(field, fmt.Sprintf("%q is not a listen address host:port (e.g. \":8080\" or \"127.0.0.1:9090\")", addr))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(field, fmt.Sprintf("%q: port must be a number from 0 to 65535", addr))
		return false
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		p.add(field, fmt.Sprintf("%q: %q is neither an IP address nor a host name", addr, host))
		return false
	}
	return true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateLog(p *problems) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		p.add("log.level", fmt.Sprintf("%q must be debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		p.add("log.format", fmt.Sprintf("%q must be text or json", c.Log.Format))
	}
	if c.Log.AccessFormat != "json" && c.Log.AccessFormat != "combined" {
		p.add("log.access_format", fmt.Sprintf("%q must be json or combined", c.Log.AccessFormat))
	}
}

func (s *Server) validate(p *problems) {
	nonNegative(p, "server.read_timeout", s.ReadTimeout)
	nonNegative(p, "server.write_timeout", s.WriteTimeout)
	nonNegative(p, "server.send_timeout", s.SendTimeout)
	nonNegative(p, "server.idle_timeout", s.IdleTimeout)
	if s.ReadHeaderTimeout <= 0 {
		p.add("server.read_header_timeout", "must be positive: without it a client can hold a connection open by sending headers slowly")
	}
	if s.ShutdownTimeout <= 0 {
		p.add("server.shutdown_timeout", "must be positive")
	}
	positive(p, "server.max_header_bytes", s.MaxHeaderBytes)
	positive(p, "server.max_body_bytes", s.MaxBodyBytes)
	if _, err := access.NewIPSet(s.TrustedProxies); err != nil {
		p.add("server.trusted_proxies", err.Error())
	}
	if s.TLSMinVersion != "1.2" && s.TLSMinVersion != "1.3" {
		p.add("server.tls_min_version", fmt.Sprintf("%q: want \"1.2\" or \"1.3\"", s.TLSMinVersion))
	}
	if s.HTTP1 != HTTP1Native && s.HTTP1 != HTTP1Stdlib {
		p.add("server.http1", fmt.Sprintf("%q: want %q or %q", s.HTTP1, HTTP1Native, HTTP1Stdlib))
	}
	if s.EventLoops > 0 && s.HTTP1 == HTTP1Stdlib {
		p.add("server.event_loops", "needs server.http1: native (net/http has no event loops): set it to off or auto")
	}
	if positive(p, "server.max_url_bytes", s.MaxURLBytes) && s.MaxHeaderBytes > 0 && s.MaxURLBytes > s.MaxHeaderBytes {
		p.add("server.max_url_bytes", fmt.Sprintf("%v is larger than server.max_header_bytes %v, which also bounds the request line", s.MaxURLBytes, s.MaxHeaderBytes))
	}
}

func (c *Cache) validate(p *problems) {
	if positive(p, "cache.memory_size", c.MemorySize) && positive(p, "cache.memory_object_max", c.MemoryObjectMax) &&
		c.MemoryObjectMax > c.MemorySize {
		p.add("cache.memory_object_max", fmt.Sprintf("%v is larger than cache.memory_size %v", c.MemoryObjectMax, c.MemorySize))
	}
	positive(p, "cache.max_object_size", c.MaxObjectSize)
	if c.Dir == "" {
		return
	}
	if fi, err := os.Stat(c.Dir); err == nil && !fi.IsDir() {
		p.add("cache.dir", fmt.Sprintf("%q exists and is not a directory", c.Dir))
	}
	if positive(p, "cache.disk_size", c.DiskSize) && positive(p, "cache.segment_size", c.SegmentSize) &&
		c.SegmentSize > c.DiskSize {
		p.add("cache.segment_size", fmt.Sprintf("%v is larger than cache.disk_size %v", c.SegmentSize, c.DiskSize))
	}
}

func nonNegative(p *problems, field string, d Duration) bool {
	if d < 0 {
		p.add(field, fmt.Sprintf("%v must not be negative", d))
		return false
	}
	return true
}

func positive(p *problems, field string, s Size) bool {
	if s <= 0 {
		p.add(field, fmt.Sprintf("%d must be positive", int64(s)))
		return false
	}
	return true
}

// IsName reports whether s is a valid node or POP name: 1-64 letters, digits, '.', '-' or
// '_' (safe in an HTTP token, a Cache-Status cache name and a NATS subject once '.' is mapped).
func IsName(s string) bool { return isToken(s) }

// isToken accepts the characters safe in an HTTP token and a Cache-Status cache name.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validHostname checks RFC 1123 syntax, lowercase (names are compared after lowercasing).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	return true
}

// checkDomainName accepts a host name, "*.name" with at least two labels after the star, or "*"
// alone: the catch-all domain that serves every host no other domain names.
func checkDomainName(p *problems, field, name string) bool {
	h, wild := strings.CutPrefix(name, "*.")
	switch {
	case name == CatchAll:
		return true
	case name == "":
		p.add(field, "is required")
	case !validHostname(h):
		p.add(field, fmt.Sprintf("%q is not a valid host name (letters, digits and '-' in dot-separated labels; no port, no scheme)", name))
	case wild && !strings.Contains(h, "."):
		p.add(field, fmt.Sprintf("%q: a wildcard needs at least two labels after \"*.\"", name))
	default:
		return true
	}
	return false
}

func loadTLS(p *problems, field string, t *TLS) {
	if t.Cert == "" {
		p.add(field+".cert", "is required")
	}
	if t.Key == "" {
		p.add(field+".key", "is required")
	}
	if t.HSTS != nil && t.HSTS.MaxAge < Duration(time.Second) {
		p.add(field+".hsts.max_age", "must be at least 1s (a year, 8760h, is usual)")
	}
	if t.Cert == "" || t.Key == "" || p.portable {
		return
	}
	if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
		p.addMachine(field+".cert", fmt.Sprintf("cannot load key pair: %v", err))
	}
}

// checkURL validates an origin URL: http or https, a host, no query or fragment.
func checkURL(p *problems, field, raw string) bool {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		p.add(field, "is required")
	case err != nil:
		p.add(field, fmt.Sprintf("%q is not a URL: %v", raw, err))
	case u.Scheme != "http" && u.Scheme != "https":
		p.add(field, fmt.Sprintf("%q: scheme must be http or https", raw))
	case u.Host == "" || u.Hostname() == "":
		p.add(field, fmt.Sprintf("%q: host is missing", raw))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		p.add(field, fmt.Sprintf("%q: must not have a query or fragment", raw))
	case u.User != nil:
		p.add(field, fmt.Sprintf("%q: credentials in the URL are not supported", u.Redacted()))
	default:
		return true
	}
	return false
}
