package router

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"

	"github.com/miekg/dns"
)

// The UDP side of the DNS mode: a fixed set of reader goroutines (one socket each, bound with
// SO_REUSEPORT to the same address where the system has it) that answer inline, with buffers
// of their own, instead of miekg/dns's goroutine per packet. The common query (A or AAAA for a
// served domain, with or without EDNS and Client Subnet) is parsed and answered in place
// without allocating (fastAnswer); every other packet takes the miekg/dns path, unchanged
// (slowAnswerUDP). TCP stays on dns.Server: it is the rare path (truncated answers).

// udpReadSize is what dns.Server{UDPSize: 4096} read: a longer datagram was cut there, and is
// cut here too, so that such packets are answered as before.
const udpReadSize = 4096

// udpServer is the set of UDP sockets and their readers.
type udpServer struct {
	conns []*net.UDPConn
	wg    sync.WaitGroup
}

// startUDP binds addr with one socket per CPU (one socket where SO_REUSEPORT is missing) and
// serves each with its own goroutine.
func (r *Router) startUDP(addr string) (*udpServer, error) {
	conns, err := listenUDP(addr, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	s := &udpServer{conns: conns}
	readers := max(runtime.GOMAXPROCS(0)/len(conns), 1)
	for _, c := range conns {
		for range readers {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				r.serveUDP(c)
			}()
		}
	}
	return s, nil
}

// listenUDP binds n sockets to addr. A plain socket is bound first and closed: it takes a free
// port when addr's is 0, and fails when another socket holds the port. Without it the sockets
// with SO_REUSEPORT would share a port with any other of this user's that have the option
// (Linux's choice of a free port skips only those that cannot share), where a second router
// on the same port used to fail with "address already in use".
func listenUDP(addr string, n int) ([]*net.UDPConn, error) {
	probe, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	addr = probe.LocalAddr().String()
	probe.Close()
	if !reusePortAvailable {
		n = 1
	}
	lc := net.ListenConfig{Control: reusePort}
	var conns []*net.UDPConn
	for range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	return conns, nil
}

// close stops the readers: closing a socket ends its reads.
func (s *udpServer) close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}

func (r *Router) serveUDP(c *net.UDPConn) {
	buf := make([]byte, udpReadSize)
	out := make([]byte, udpReadSize)
	d := new(Decision) // decide's d escapes (d.Nodes points into d), so one per reader
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a datagram's error (e.g. ICMP): the socket serves on
		}
		if ans := r.answerUDP(out, buf[:n], from.Addr().Unmap(), d); ans != nil {
			c.WriteToUDPAddrPort(ans, from)
		}
	}
}

// answerUDP is the answer to one datagram, in out when it fits; nil: none is sent.
func (r *Router) answerUDP(out, query []byte, resolver netip.Addr, d *Decision) []byte {
	if n := r.fastAnswer(out, query, resolver, d); n > 0 {
		return out[:n]
	}
	return r.slowAnswerUDP(out, query, resolver)
}

// slowAnswerUDP answers the way dns.Server did over UDP: its accept function and its FORMERR
// and NOTIMP replies, then ServeDNS (answerDNS, truncated to what the client takes).
func (r *Router) slowAnswerUDP(out, query []byte, resolver netip.Addr) []byte {
	if len(query) < 12 {
		return nil // dns.Server drops these
	}
	h := dns.Header{Id: be16(query, 0), Bits: be16(query, 2), Qdcount: be16(query, 4), Ancount: be16(query, 6),
		Nscount: be16(query, 8), Arcount: be16(query, 10)}
	req := new(dns.Msg)
	action := dns.DefaultMsgAcceptFunc(h)
	switch action {
	case dns.MsgIgnore:
		return nil
	case dns.MsgAccept:
		if req.Unpack(query) == nil {
			m := r.answerDNS(req, resolver)
			m.Truncate(udpSize(req))
			return packOrNil(m, out)
		}
	default:
		req.Unpack(query[:12]) // the header alone, as dns.Server has it when it rejects
	}
	opcode := req.Opcode
	req.SetRcodeFormatError(req)
	req.Zero = false
	if action == dns.MsgRejectNotImplemented {
		req.Opcode, req.Rcode = opcode, dns.RcodeNotImplemented
	}
	req.Ns, req.Answer, req.Extra = nil, nil, nil
	return packOrNil(req, out)
}

func packOrNil(m *dns.Msg, out []byte) []byte {
	b, err := m.PackBuffer(out)
	if err != nil {
		return nil // dns.Server's WriteMsg sent nothing either
	}
	return b
}

func be16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }

// fastQuery is what the fast path reads of a query.
type fastQuery struct {
	flags    uint16
	qend     int    // end of the question
	qtype    uint16 // A or AAAA
	name     [256]byte
	nameLen  int // the name in presentation form, lowercase, with the final dot
	edns     bool
	udpSize  uint16
	ecs      bool
	family   uint16
	source   uint8
	ecsAddr  [16]byte
	wireName int // length of the name on the wire
}

// DNS header bits the fast path reads and writes.
const (
	bitQR     = 1 << 15
	bitAA     = 1 << 10
	bitTC     = 1 << 9
	bitRD     = 1 << 8
	bitCD     = 1 << 4
	opcodeBit = 0xF << 11
)

// parseFastQuery reads a query the fast path takes: a standard query with one question (IN,
// A or AAAA, a name of letters, digits, '-' and '_', not compressed), nothing in the answer
// and authority sections, and at most an OPT record whose options are Client Subnet, cookies
// or padding. Anything else is false, and the slow path judges it.
func parseFastQuery(b []byte, q *fastQuery) bool {
	if len(b) < 12 || len(b) > udpReadSize {
		return false
	}
	q.flags = be16(b, 2)
	// QR, opcode, TC and RCODE must be zero: the other combinations are the slow path's.
	if q.flags&(bitQR|opcodeBit|bitTC|0xF) != 0 || be16(b, 4) != 1 || be16(b, 6) != 0 || be16(b, 8) != 0 || be16(b, 10) > 1 {
		return false
	}
	off, ok := parseName(b, 12, q)
	if !ok || off+4 > len(b) {
		return false
	}
	q.qtype = be16(b, off)
	if (q.qtype != dns.TypeA && q.qtype != dns.TypeAAAA) || be16(b, off+2) != dns.ClassINET {
		return false
	}
	q.qend = off + 4
	q.edns, q.ecs = false, false
	if be16(b, 10) == 0 {
		return q.qend == len(b)
	}
	return parseOPT(b, q.qend, q)
}

// parseName reads the question's name into q.name, lowercase.
func parseName(b []byte, off int, q *fastQuery) (int, bool) {
	n := 0
	start := off
	for {
		if off >= len(b) {
			return 0, false
		}
		l := int(b[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(b) || off-start+l > 250 {
			return 0, false // pointers, extended labels, long names: the slow path's
		}
		for _, c := range b[off : off+l] {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				return 0, false // what miekg/dns escapes (\., \DDD): the slow path's
			}
			q.name[n] = c
			n++
		}
		q.name[n] = '.'
		n++
		off += l
	}
	if n == 0 {
		return 0, false // the root
	}
	q.nameLen, q.wireName = n, off-start
	return off, true
}

// parseOPT reads the one additional record, which must be an OPT for the root that ends the
// datagram, and its Client Subnet.
func parseOPT(b []byte, off int, q *fastQuery) bool {
	if off+11 > len(b) || b[off] != 0 || be16(b, off+1) != dns.TypeOPT {
		return false
	}
	// TTL: extended RCODE and version must be 0 (the DO bit and Z are ignored, as before).
	if b[off+5] != 0 || b[off+6] != 0 {
		return false
	}
	q.edns, q.udpSize = true, be16(b, off+3)
	rdlen := int(be16(b, off+9))
	off += 11
	if off+rdlen != len(b) {
		return false
	}
	for off < len(b) {
		if off+4 > len(b) {
			return false
		}
		code, l := be16(b, off), int(be16(b, off+2))
		off += 4
		if off+l > len(b) {
			return false
		}
		switch code {
		case dns.EDNS0SUBNET:
			if !parseECS(b[off:off+l], q) {
				return false
			}
		case dns.EDNS0COOKIE, dns.EDNS0PADDING:
		default:
			return false
		}
		off += l
	}
	return true
}

// parseECS checks a Client Subnet option as miekg/dns unpacks it, and keeps the first.
func parseECS(o []byte, q *fastQuery) bool {
	if len(o) < 4 {
		return false
	}
	family, source, scope := be16(o, 0), o[2], o[3]
	switch {
	case family == 0 && source == 0:
	case family == 1 && source <= 32 && scope <= 32:
	case family == 2 && source <= 128 && scope <= 128:
	default:
		return false
	}
	if q.ecs {
		return true // the first one counts
	}
	q.ecs, q.family, q.source = true, family, source
	q.ecsAddr = [16]byte{}
	copy(q.ecsAddr[:], o[4:])
	return true
}

// client is clientOf's address for the query.
func (q *fastQuery) client(resolver netip.Addr) netip.Addr {
	if !q.ecs || q.source == 0 || q.family == 0 {
		return resolver
	}
	var a netip.Addr
	if q.family == 1 {
		a = netip.AddrFrom4([4]byte(q.ecsAddr[:4]))
	} else {
		a = netip.AddrFrom16(q.ecsAddr).Unmap()
	}
	p, err := a.Prefix(int(q.source))
	if err != nil {
		return resolver
	}
	return p.Addr()
}

// host is the domain the query names, lowercase, when it is under the zone and not the apex.
func (q *fastQuery) host(zone string) ([]byte, bool) {
	n := q.nameLen - len(zone) - 1
	if n < 1 || q.name[n] != '.' || string(q.name[n+1:q.nameLen]) != zone {
		return nil, false
	}
	return q.name[:n], true
}

// servedBytes is served for a name in bytes, without allocating.
func (t *table) servedBytes(host []byte) bool {
	if t.anyHost || t.domains[string(host)] {
		return true
	}
	if i := bytes.IndexByte(host, '.'); i >= 0 {
		for _, w := range t.wildcards {
			if string(host[i+1:]) == w {
				return true
			}
		}
	}
	return false
}

// fastAnswer writes the answer to the common query into out and returns its length, the
// same message answerDNS and Truncate make; 0: the query is not one it takes. It allocates
// nothing: d is the caller's scratch.
func (r *Router) fastAnswer(out, b []byte, resolver netip.Addr, d *Decision) int {
	var q fastQuery
	if !parseFastQuery(b, &q) {
		return 0
	}
	host, ok := q.host(r.zone)
	if !ok {
		return 0
	}
	t := r.table.Load()
	if !t.servedBytes(host) {
		return 0 // node names, NXDOMAIN: the slow path's
	}
	client := q.client(resolver)
	scope := t.decide(client, "", r.cfg.Answers, d)
	if d.POP < 0 {
		return 0
	}
	p := &t.pops[d.POP]
	addrs := 0
	for _, i := range d.Nodes {
		if hasFamily(p.healthy[i], q.qtype) {
			addrs++
		}
	}
	if addrs == 0 {
		return 0 // NODATA, with the SOA: the slow path's
	}
	n := q.writeAnswer(out, b, r.ttl, p, d, addrs, min(scope, int(q.source)))
	if n > 0 {
		r.count(t, modeDNS, d)
	}
	return n
}

func hasFamily(n *tnode, qtype uint16) bool {
	if qtype == dns.TypeA {
		return n.V4.IsValid()
	}
	return n.V6.IsValid()
}

// writeAnswer writes the header, the question, as many of the addrs address records as fit
// the client's size (TC when some do not, counted as Msg.Truncate counts) and the OPT.
func (q *fastQuery) writeAnswer(out, b []byte, ttl uint32, p *tpop, d *Decision, addrs, scope int) int {
	rdlen := 4
	if q.qtype == dns.TypeAAAA {
		rdlen = 16
	}
	optLen, ecsLen := 0, 0
	size := dns.MinMsgSize
	if q.edns {
		size = min(max(int(q.udpSize), dns.MinMsgSize), 4096)
		optLen = 11
		if q.ecs {
			ecsLen = 4 + (int(q.source)+7)/8
			optLen += 4 + ecsLen
		}
	}
	fit, flags := addrs, uint16(bitQR|bitAA)|q.flags&(bitRD|bitCD)
	// Truncate: nothing is cut when the uncompressed message fits; else, compressed, the
	// records that fit beside the question and the OPT.
	if q.qend+addrs*(q.wireName+10+rdlen)+optLen > size {
		fit = min(addrs, max(size-optLen-q.qend, 0)/(12+rdlen))
		if fit < addrs {
			flags |= bitTC
		}
	}
	if q.qend+fit*(12+rdlen)+optLen > len(out) {
		return 0
	}
	binary.BigEndian.PutUint16(out[0:], be16(b, 0))
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], uint16(fit))
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], uint16(min(optLen, 1)))
	off := 12 + copy(out[12:], b[12:q.qend])
	written := 0
	for _, i := range d.Nodes {
		n := p.healthy[i]
		if written == fit {
			break
		}
		if !hasFamily(n, q.qtype) {
			continue
		}
		off = putAddr(out, off, q.qtype, ttl, n)
		written++
	}
	if q.edns {
		off = q.putOPT(out, off, ecsLen, scope)
	}
	return off
}

// putAddr writes one A or AAAA record whose name points at the question's (offset 12).
func putAddr(out []byte, off int, qtype uint16, ttl uint32, n *tnode) int {
	binary.BigEndian.PutUint16(out[off:], 0xC00C)
	binary.BigEndian.PutUint16(out[off+2:], qtype)
	binary.BigEndian.PutUint16(out[off+4:], dns.ClassINET)
	binary.BigEndian.PutUint32(out[off+6:], ttl)
	if qtype == dns.TypeA {
		a := n.V4.As4()
		binary.BigEndian.PutUint16(out[off+10:], 4)
		return off + 12 + copy(out[off+12:], a[:])
	}
	a := n.V6.As16()
	binary.BigEndian.PutUint16(out[off+10:], 16)
	return off + 12 + copy(out[off+12:], a[:])
}

// putOPT writes withEDNS's OPT: UDP size 1232, and the Client Subnet echoed with the scope,
// its address masked to the source prefix as miekg/dns packs it.
func (q *fastQuery) putOPT(out []byte, off, ecsLen, scope int) int {
	out[off] = 0
	binary.BigEndian.PutUint16(out[off+1:], dns.TypeOPT)
	binary.BigEndian.PutUint16(out[off+3:], 1232)
	binary.BigEndian.PutUint32(out[off+5:], 0)
	if !q.ecs {
		binary.BigEndian.PutUint16(out[off+9:], 0)
		return off + 11
	}
	binary.BigEndian.PutUint16(out[off+9:], uint16(4+ecsLen))
	off += 11
	binary.BigEndian.PutUint16(out[off:], dns.EDNS0SUBNET)
	binary.BigEndian.PutUint16(out[off+2:], uint16(ecsLen))
	binary.BigEndian.PutUint16(out[off+4:], q.family)
	out[off+6], out[off+7] = q.source, uint8(scope)
	off += 8
	for i := range ecsLen - 4 {
		c := q.ecsAddr[i]
		if rest := int(q.source) - 8*i; rest < 8 {
			c &= byte(0xFF << (8 - rest))
		}
		out[off+i] = c
	}
	return off + ecsLen - 4
}
