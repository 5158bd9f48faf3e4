package router

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// ServeDNS answers one query for the CDN's zone, authoritatively:
//
//   - <domain>.<zone> A/AAAA: the chosen nodes of the client's POP (EDNS Client Subnet when the
//     resolver sends it, scoped to the prefix used; else the resolver's own address);
//   - <node>.<domain>.<zone> A/AAAA: that node (where HTTP mode sends clients);
//   - TXT for either: the decision explained, for operators;
//   - the zone's apex: SOA and NS;
//   - another name under the zone: NXDOMAIN; a name outside it: REFUSED.
//
// Over UDP an answer larger than the client takes is truncated (TC), and the client asks
// again over TCP. The router's own UDP loop (fastdns.go) answers the common A/AAAA query
// without miekg/dns and sends every other datagram the same way as here.
func (r *Router) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := r.answerDNS(req, remoteAddr(w.RemoteAddr()))
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(udpSize(req))
	}
	w.WriteMsg(m)
}

// udpSize is how large a UDP answer to req may be: 512 bytes without EDNS, else its size
// (at least 512, at most 4096).
func udpSize(req *dns.Msg) int {
	if o := req.IsEdns0(); o != nil {
		return min(max(int(o.UDPSize()), dns.MinMsgSize), 4096)
	}
	return dns.MinMsgSize
}

func remoteAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// answerDNS builds the reply to req from a client at resolver.
func (r *Router) answerDNS(req *dns.Msg, resolver netip.Addr) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable, m.Compress = true, false, true
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		if req.Opcode != dns.OpcodeQuery {
			m.Rcode = dns.RcodeNotImplemented
		}
		return m
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	zone := r.zone
	if q.Qclass != dns.ClassINET || !dns.IsSubDomain(zone, name) {
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
		r.metrics.dnsRefused.Inc()
		return m
	}
	client, ecs := clientOf(req, resolver)
	if name == zone {
		r.apex(m, q.Qtype)
		return r.withEDNS(m, req, ecs, 0)
	}
	t := r.table.Load()
	host := strings.TrimSuffix(name, "."+zone)
	var scope int
	switch {
	case t.served(host):
		scope = r.answerDomain(m, t, q, host, client)
	default:
		node, domain, _ := strings.Cut(host, ".")
		n := t.nodes[node]
		if n == nil || !t.served(domain) {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{r.soa()}
			r.metrics.dnsNXDomain.Inc()
			return r.withEDNS(m, req, ecs, 0)
		}
		r.answerNode(m, q, n)
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{r.soa()} // NODATA: the name exists, not this type
	}
	return r.withEDNS(m, req, ecs, scope)
}

// answerDomain answers a domain's name with the chosen nodes.
func (r *Router) answerDomain(m *dns.Msg, t *table, q dns.Question, host string, client netip.Addr) int {
	var d Decision
	scope := t.decide(client, "", r.cfg.Answers, &d)
	r.count(t, modeDNS, &d)
	if d.POP < 0 {
		return scope
	}
	p := &t.pops[d.POP]
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: r.ttl}
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA:
		for _, i := range d.Nodes {
			r.addAddr(m, hdr, q.Qtype, p.healthy[i])
		}
	case dns.TypeTXT:
		hdr.Rrtype, hdr.Ttl = dns.TypeTXT, 0
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{r.explain(t, &d, client, scope)}})
	}
	return scope
}

func (r *Router) answerNode(m *dns.Msg, q dns.Question, n *tnode) {
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: r.ttl}
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA:
		r.addAddr(m, hdr, q.Qtype, n)
	case dns.TypeTXT:
		hdr.Rrtype, hdr.Ttl = dns.TypeTXT, 0
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{fmt.Sprintf("node=%s pop=%s up=%t loaded=%t", n.Name, n.pop, n.up, n.loaded)}})
	}
}

func (r *Router) addAddr(m *dns.Msg, hdr dns.RR_Header, qtype uint16, n *tnode) {
	hdr.Rrtype = qtype
	switch {
	case qtype == dns.TypeA && n.V4.IsValid():
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: n.V4.AsSlice()})
	case qtype == dns.TypeAAAA && n.V6.IsValid():
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: n.V6.AsSlice()})
	}
}

// explain says how a decision was made: "pop=fra reason=coverage client=198.51.100.0/24
// nodes=fra-1,fra-2".
func (r *Router) explain(t *table, d *Decision, client netip.Addr, scope int) string {
	if d.POP < 0 {
		return "reason=none: no POP has a healthy node"
	}
	p := &t.pops[d.POP]
	names := make([]string, len(d.Nodes))
	for i, n := range d.Nodes {
		names[i] = p.healthy[n].Name
	}
	return fmt.Sprintf("pop=%s reason=%s client=%s scope=%d nodes=%s", p.name, d.Reason, client, scope, strings.Join(names, ","))
}

func (r *Router) apex(m *dns.Msg, qtype uint16) {
	switch qtype {
	case dns.TypeSOA:
		m.Answer = append(m.Answer, r.soa())
	case dns.TypeNS:
		for _, ns := range r.cfg.NS {
			m.Answer = append(m.Answer, &dns.NS{Hdr: dns.RR_Header{Name: r.zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: dns.Fqdn(ns)})
		}
	default:
		m.Ns = []dns.RR{r.soa()}
	}
}

func (r *Router) soa() dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: r.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: r.ttl},
		Ns: dns.Fqdn(r.cfg.NS[0]), Mbox: "hostmaster." + r.zone, Serial: r.serial.Load(),
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: r.ttl}
}

// clientOf is the address a decision is made for: the subnet of EDNS Client Subnet when the
// resolver sent one (RFC 7871), else the resolver's.
func clientOf(req *dns.Msg, resolver netip.Addr) (netip.Addr, *dns.EDNS0_SUBNET) {
	o := req.IsEdns0()
	if o == nil {
		return resolver, nil
	}
	for _, opt := range o.Option {
		s, ok := opt.(*dns.EDNS0_SUBNET)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(s.Address)
		if !ok || s.SourceNetmask == 0 {
			return resolver, s // 0: the resolver asks us not to use its client's address
		}
		if p, err := a.Unmap().Prefix(int(s.SourceNetmask)); err == nil {
			return p.Addr(), s
		}
		return resolver, s
	}
	return resolver, nil
}

// withEDNS adds the OPT record when the query had one, echoing its Client Subnet with the
// scope the answer holds for (the coverage prefix used, at most what the resolver sent).
func (r *Router) withEDNS(m, req *dns.Msg, ecs *dns.EDNS0_SUBNET, scope int) *dns.Msg {
	if req.IsEdns0() == nil {
		return m
	}
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(1232)
	if ecs != nil {
		e := *ecs
		e.SourceScope = uint8(min(scope, int(ecs.SourceNetmask)))
		o.Option = append(o.Option, &e)
	}
	m.Extra = append(m.Extra, o)
	return m
}
