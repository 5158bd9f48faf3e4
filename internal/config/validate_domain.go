package config

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strings"
)

func (c *Config) validateDomains(p *problems) {
	if len(c.Domains) == 0 {
		if !c.Control.Enabled() {
			p.add("domains", "at least one domain is required (or control.nats, which gives them)")
		}
		return
	}
	owner := map[string]string{} // name or alias → field that first claimed it
	claim := func(field, name string) {
		if checkDomainName(p, field, name) {
			if first, dup := owner[name]; dup {
				p.add(field, fmt.Sprintf("%q is already used by %s", name, first))
				return
			}
			owner[name] = field
		}
	}
	needTLS := ""
	for i := range c.Domains {
		d := &c.Domains[i]
		base := fmt.Sprintf("domains[%d]", i)
		claim(base+".name", d.Name)
		for j, a := range d.Aliases {
			claim(fmt.Sprintf("%s.aliases[%d]", base, j), a)
		}
		if d.TLS != nil {
			loadTLS(p, base+".tls", d.TLS)
			if needTLS == "" {
				needTLS = base + ".tls"
			}
		}
		d.Origin.validate(p, base+".origin")
		d.Access.validate(p, base+".access")
		d.Cache.validate(p, base+".cache")
		d.Compress.validate(p, base+".compress")
		d.Images.validate(p, base+".images")
	}
	if needTLS != "" && c.TLSListen == "" && !p.portable {
		p.add(needTLS, "tls is set but tls_listen is empty: set tls_listen (e.g. \":443\")")
	}
}

func (o *Origin) validate(p *problems, base string) {
	set := o.inferType()
	switch {
	case o.Type != "" && o.Type != OriginHTTP && o.Type != OriginS3 && o.Type != OriginFS:
		p.add(base+".type", fmt.Sprintf("%q must be http, s3 or fs", o.Type))
		return
	case o.kindsSet() == 0:
		p.add(base, "set one of servers (http), s3 or root (fs)")
		return
	case o.kindsSet() > 1:
		p.add(base, "set only one of servers (http), s3 and root (fs)")
		return
	case o.Type != "" && o.Type != set:
		p.add(base+".type", fmt.Sprintf("is %q but the origin sets %s", o.Type, map[string]string{
			OriginHTTP: "servers (http)", OriginS3: "s3", OriginFS: "root (fs)"}[set]))
		return
	}
	if o.CacheControl != "" && set != OriginFS {
		p.add(base+".cache_control", "applies only to fs origins; an http or s3 origin sends its own Cache-Control")
	}
	if o.Host != "" && set != OriginHTTP {
		p.add(base+".host", "applies only to http origins")
	}
	if o.MaxHeaderBytes < 1<<10 || o.MaxHeaderBytes > 16<<20 {
		p.add(base+".max_header_bytes", fmt.Sprintf("%v must be from 1KiB to 16MiB", o.MaxHeaderBytes))
	}
	switch set {
	case OriginHTTP:
		o.validateHTTP(p, base)
	case OriginS3:
		o.S3.validate(p, base+".s3")
	case OriginFS:
		o.validateFS(p, base)
	}
}

func (o *Origin) kindsSet() int {
	n := 0
	for _, set := range []bool{len(o.Servers) > 0, o.S3 != nil, o.Root != ""} {
		if set {
			n++
		}
	}
	return n
}

func (o *Origin) validateHTTP(p *problems, base string) {
	seen := map[string]string{}
	for i, s := range o.Servers {
		f := fmt.Sprintf("%s.servers[%d]", base, i)
		if checkURL(p, f+".url", s.URL) {
			if first, dup := seen[s.URL]; dup {
				p.add(f+".url", fmt.Sprintf("%q is also %s", s.URL, first))
			}
			seen[s.URL] = f + ".url"
		}
		if s.Weight < 1 {
			p.add(f+".weight", fmt.Sprintf("%d must be at least 1", s.Weight))
		}
		if s.Priority < 0 {
			p.add(f+".priority", fmt.Sprintf("%d must not be negative", s.Priority))
		}
		checkHostHeader(p, f+".host", s.Host)
		if s.SNI != "" && !validHostname(s.SNI) {
			p.add(f+".sni", fmt.Sprintf("%q is not a valid host name", s.SNI))
		}
	}
	checkHostHeader(p, base+".host", o.Host)
	if o.ConnectTimeout <= 0 {
		p.add(base+".connect_timeout", "must be positive")
	}
	if o.ResponseTimeout <= 0 {
		p.add(base+".response_timeout", "must be positive")
	}
	if o.FailThreshold < 1 {
		p.add(base+".fail_threshold", fmt.Sprintf("%d must be at least 1", o.FailThreshold))
	}
	nonNegative(p, base+".fail_cooldown", o.FailCooldown)
	for i, st := range o.FailoverStatuses {
		if st < 400 || st > 599 {
			p.add(fmt.Sprintf("%s.failover_statuses[%d]", base, i), fmt.Sprintf("%d must be a 4xx or 5xx status", st))
		}
	}
	if o.MaxConcurrent < 1 {
		p.add(base+".max_concurrent", fmt.Sprintf("%d must be at least 1", o.MaxConcurrent))
	}
	nonNegative(p, base+".max_wait", o.MaxWait)
}

// checkHostHeader accepts "" (keep the client's Host), a host name, or host:port.
func checkHostHeader(p *problems, field, h string) {
	if h == "" {
		return
	}
	name := h
	if host, port, err := net.SplitHostPort(h); err == nil && port != "" {
		name = host
	}
	if !validHostname(strings.ToLower(name)) && net.ParseIP(name) == nil {
		p.add(field, fmt.Sprintf("%q is not a host name or host:port", h))
	}
}

func (s *S3) validate(p *problems, base string) {
	if s.Endpoint == "" {
		p.add(base+".endpoint", "is required (e.g. https://s3.us-east-1.amazonaws.com)")
	} else {
		checkURL(p, base+".endpoint", s.Endpoint)
	}
	if s.Bucket == "" {
		p.add(base+".bucket", "is required")
	} else if strings.ContainsAny(s.Bucket, "/?# ") {
		p.add(base+".bucket", fmt.Sprintf("%q must be a bare bucket name", s.Bucket))
	}
	if s.Region == "" {
		p.add(base+".region", "is required (us-east-1 when the store ignores it)")
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		p.add(base+".secret_key", "access_key and secret_key must be set together (or neither, for a public bucket)")
	}
	if s.SessionToken != "" && s.AccessKey == "" {
		p.add(base+".session_token", "needs access_key and secret_key")
	}
	if strings.HasPrefix(s.Prefix, "/") {
		p.add(base+".prefix", fmt.Sprintf("%q must not start with \"/\"", s.Prefix))
	}
}

func (o *Origin) validateFS(p *problems, base string) {
	fi, err := os.Stat(o.Root)
	switch {
	case p.portable:
		if !strings.HasPrefix(o.Root, "/") {
			p.add(base+".root", fmt.Sprintf("%q: the nodes need an absolute path", o.Root))
		}
	case err != nil:
		p.addMachine(base+".root", fmt.Sprintf("cannot use %q: %v", o.Root, err))
	case !fi.IsDir():
		p.add(base+".root", fmt.Sprintf("%q is not a directory", o.Root))
	}
	if o.IndexFile == "" || strings.ContainsAny(o.IndexFile, `/\`) || o.IndexFile == "." || o.IndexFile == ".." {
		p.add(base+".index_file", fmt.Sprintf("%q must be a plain file name", o.IndexFile))
	}
}

func (dc *DomainCache) validate(p *problems, base string) {
	if dc.HeuristicPercent < 0 || dc.HeuristicPercent > 100 {
		p.add(base+".heuristic_percent", fmt.Sprintf("%d must be from 0 to 100", dc.HeuristicPercent))
	}
	okMin := nonNegative(p, base+".heuristic_min", dc.HeuristicMin)
	okMax := nonNegative(p, base+".heuristic_max", dc.HeuristicMax)
	if okMin && okMax && dc.HeuristicMin > dc.HeuristicMax {
		p.add(base+".heuristic_min", fmt.Sprintf("%v is larger than heuristic_max %v", dc.HeuristicMin, dc.HeuristicMax))
	}
	nonNegative(p, base+".default_ttl", dc.DefaultTTL)
	nonNegative(p, base+".stale_if_origin_down", dc.StaleIfOriginDown)
	for i := range dc.Rules {
		dc.Rules[i].validate(p, fmt.Sprintf("%s.rules[%d]", base, i))
	}
	statuses := make([]int, 0, len(dc.StatusTTL))
	for st := range dc.StatusTTL {
		statuses = append(statuses, st)
	}
	slices.Sort(statuses) // map order would make the report differ between runs
	for _, st := range statuses {
		f := fmt.Sprintf("%s.status_ttl[%d]", base, st)
		if st < 100 || st > 599 {
			p.add(f, fmt.Sprintf("status %d must be from 100 to 599", st))
		}
		nonNegative(p, f, dc.StatusTTL[st])
	}
	nonNegative(p, base+".max_error_ttl", dc.MaxErrorTTL)
	dc.Query.validate(p, base+".query")
	for i, name := range dc.KeyHeaders {
		f := fmt.Sprintf("%s.key_headers[%d]", base, i)
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !validFieldName(name):
			p.add(f, fmt.Sprintf("%q is not a header field name", name))
		case canon == "Host":
			p.add(f, "the host is keyed with key_host, not as a header")
		case slices.Contains(dc.KeyHeaders[:i], canon):
			p.add(f, fmt.Sprintf("%s is listed twice", canon))
		default:
			dc.KeyHeaders[i] = canon
		}
	}
}

// validFieldName: an RFC 9110 token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func (r *CacheRule) validate(p *problems, base string) {
	if r.Prefix == "" && len(r.Extensions) == 0 {
		p.add(base, "set prefix, extensions or both")
	}
	if r.Prefix != "" && !strings.HasPrefix(r.Prefix, "/") {
		p.add(base+".prefix", fmt.Sprintf("%q must start with \"/\"", r.Prefix))
	}
	for i, e := range r.Extensions {
		if e == "" || e == "." || strings.ContainsAny(e[1:], "./\\?# ") {
			p.add(fmt.Sprintf("%s.extensions[%d]", base, i), fmt.Sprintf("%q is not a file extension like \".css\"", e))
		}
	}
	if r.Priority < 0 {
		p.add(base+".priority", fmt.Sprintf("%d must not be negative", r.Priority))
	}
	switch {
	case r.Bypass && r.TTL != 0:
		p.add(base+".ttl", "has no effect with bypass: true (bypassed responses are never cached)")
	case !r.Bypass && r.TTL <= 0:
		p.add(base+".ttl", "must be positive (or set bypass: true to never cache)")
	}
}

func (q *QueryKey) validate(p *problems, base string) {
	switch q.Mode {
	case QueryKeepAll, QueryDropAll:
		if len(q.Params) > 0 {
			p.add(base+".params", fmt.Sprintf("apply only to mode keep or drop, not %s", q.Mode))
		}
	case QueryKeep, QueryDrop:
		if len(q.Params) == 0 {
			p.add(base+".params", fmt.Sprintf("mode %s needs at least one parameter name", q.Mode))
		}
		for i, name := range q.Params {
			if name == "" {
				p.add(fmt.Sprintf("%s.params[%d]", base, i), "must not be empty")
			}
		}
	default:
		p.add(base+".mode", fmt.Sprintf("%q must be keep_all, drop_all, keep or drop", q.Mode))
	}
}
