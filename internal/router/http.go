package router

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ServeHTTP is the HTTP mode: GET or HEAD of any path on a served domain answers 302 to the
// node that should serve it, the same path and query. The node is the URL's owner among the
// healthy nodes of the client's POP (rendezvous hashing of the URL), so each object goes to the
// node that holds it. An API client asking for JSON (Accept: application/json) gets the choice
// as JSON instead. X-Pixcdn-Route explains the choice.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the router redirects GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	host := strings.ToLower(req.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(host, "."), "."+strings.TrimSuffix(r.zone, "."))
	t := r.table.Load()
	if !t.served(host) {
		http.Error(w, "no domain "+host+" is served here", http.StatusMisdirectedRequest)
		return
	}
	client := r.clientIP(req)
	var d Decision
	t.decide(client, host+req.URL.RequestURI(), 1, &d)
	r.count(t, modeHTTP, &d)
	if d.POP < 0 || len(d.Nodes) == 0 {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "no healthy node can serve this now", http.StatusServiceUnavailable)
		return
	}
	p := &t.pops[d.POP]
	n := p.healthy[d.Nodes[0]]
	loc := r.nodeURL(n, host, req.URL.RequestURI())
	w.Header().Set("X-Pixcdn-Route", "pop="+p.name+" reason="+d.Reason.String()+" node="+n.Name+" client="+client.String())
	w.Header().Set("Cache-Control", "private, max-age=0")
	if strings.Contains(req.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"location": loc, "pop": p.name, "node": n.Name, "reason": d.Reason.String()})
		return
	}
	http.Redirect(w, req, loc, http.StatusFound)
}

// nodeURL is where a node serves host, followed by uri: its url template, by default
// http://<node>.<host>.<zone> (the name the DNS mode answers with that node's address; the
// edges serve it when the domain has the alias *.<host>.<zone>). One pass and one string per
// request: a strings.Replacer built per request was a tenth of the HTTP mode's CPU.
func (r *Router) nodeURL(n *tnode, host, uri string) string {
	tmpl := n.URL
	if tmpl == "" {
		tmpl = r.cfg.HTTPScheme + "://{node}.{domain}.{zone}"
	}
	zone := strings.TrimSuffix(r.zone, ".")
	var b strings.Builder
	b.Grow(len(tmpl) + len(n.Name) + len(host) + len(zone) + len(uri))
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		tmpl = tmpl[i:]
		switch {
		case strings.HasPrefix(tmpl, "{node}"):
			b.WriteString(n.Name)
			tmpl = tmpl[len("{node}"):]
		case strings.HasPrefix(tmpl, "{domain}"):
			b.WriteString(host)
			tmpl = tmpl[len("{domain}"):]
		case strings.HasPrefix(tmpl, "{zone}"):
			b.WriteString(zone)
			tmpl = tmpl[len("{zone}"):]
		default:
			b.WriteByte('{')
			tmpl = tmpl[1:]
		}
	}
	b.WriteString(tmpl)
	b.WriteString(uri)
	return b.String()
}

// clientIP is the client's address; X-Forwarded-For is believed from trusted proxies only.
func (r *Router) clientIP(req *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a := ap.Addr().Unmap()
	if !r.trusted(a) {
		return a
	}
	xff := req.Header.Get("X-Forwarded-For")
	for xff != "" { // right to left: the first address not of a trusted proxy
		i := strings.LastIndexByte(xff, ',')
		part := strings.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		c, err := netip.ParseAddr(part)
		if err != nil {
			break
		}
		if a = c.Unmap(); !r.trusted(a) || i < 0 {
			break
		}
	}
	return a
}

func (r *Router) trusted(a netip.Addr) bool {
	for _, p := range r.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
