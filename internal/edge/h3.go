package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/pixcdn/pixcdn/internal/config"
)

// HTTP/3 runs beside the TLS listener: the same handler, certificates (GetCertificate, so a
// reload's certificates serve at once) and limits, on the UDP port of tls_listen. TCP
// responses advertise it with Alt-Svc for the domains that have it on.

// altSvcMaxAge is how long a client may remember the advertisement (ma=, in seconds): a day,
// as common CDNs send; a domain turned off is forgotten by then at the latest, and at once by
// a client that comes back over HTTP/3 (it is told Alt-Svc: clear).
const altSvcMaxAge = 86400

// udpBufferWant is the socket buffer size quic-go asks the kernel for (its desiredBufferSize):
// below it, bursts of packets are dropped before quic-go reads them.
const udpBufferWant = 7 << 20

// altSvcClear tells a client to forget the alternatives it remembers for the origin.
var altSvcClear = []string{"clear"}

// h3Server is the HTTP/3 server and the UDP socket it owns.
type h3Server struct {
	srv   *http3.Server
	ln    *quic.EarlyListener
	conn  *net.UDPConn
	close sync.Once // the socket: Shutdown that gave up is followed by Close
}

// startHTTP3 binds UDP on the address of the bound TLS listener tcp (the same port; any free
// one when tls_listen asked for port 0 and that one is taken) and serves HTTP/3 on it.
func (s *Server) startHTTP3(tcp *net.TCPAddr) error {
	sc := &s.cfg.Server
	conn, err := listenUDP(s.cfg.TLSListen, tcp)
	if err != nil {
		return fmt.Errorf("http3: %w", err)
	}
	tlsConf := http3.ConfigureTLSConfig(&tls.Config{GetCertificate: s.certificate, MinVersion: tls.VersionTLS13})
	ln, err := quic.ListenEarly(conn, tlsConf, quicConfig(sc))
	if err != nil {
		conn.Close()
		return fmt.Errorf("http3: %w", err)
	}
	s.warnUDPBuffers(conn, udpBufferWant)
	h := &h3Server{conn: conn, ln: ln, srv: &http3.Server{
		Handler:        h3Handler{s: s, readTimeout: sc.ReadTimeout.D(), writeTimeout: sc.WriteTimeout.D()},
		MaxHeaderBytes: int(sc.MaxHeaderBytes),
		IdleTimeout:    idleTimeout(sc),
	}}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	s.h3Addr = conn.LocalAddr().String()
	s.altSvc = []string{`h3=":` + strconv.Itoa(port) + `"; ma=` + strconv.Itoa(altSvcMaxAge)}
	s.servers = append(s.servers, h)
	s.run(func() error { return h.srv.ServeListener(ln) })
	return nil
}

// listenUDP binds the UDP socket of HTTP/3 beside the TLS listener bound at tcp.
func listenUDP(configured string, tcp *net.TCPAddr) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: tcp.IP, Port: tcp.Port, Zone: tcp.Zone})
	if err == nil {
		return conn, nil
	}
	if _, port, _ := net.SplitHostPort(configured); port == "0" {
		// An ephemeral TCP port says nothing of the same UDP port: take any (Alt-Svc names it).
		return net.ListenUDP("udp", &net.UDPAddr{IP: tcp.IP, Zone: tcp.Zone})
	}
	return nil, err
}

// quicConfig maps the server limits onto QUIC: the handshake gets read_header_timeout (the
// time a client has to start a request), an idle connection idle_timeout. 0-RTT stays off: an
// early request can be replayed by anyone who saw it, and the edge passes unsafe methods on
// to origins.
func quicConfig(sc *config.Server) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: sc.ReadHeaderTimeout.D(),
		MaxIdleTimeout:       idleTimeout(sc),
		Allow0RTT:            false,
	}
}

// idleTimeout is idle_timeout, or read_timeout where it is 0 (net/http's rule).
func idleTimeout(sc *config.Server) time.Duration {
	if d := sc.IdleTimeout.D(); d > 0 {
		return d
	}
	return sc.ReadTimeout.D()
}

// h3Handler gives each HTTP/3 request the deadlines net/http gives an HTTP/2 stream from
// read_timeout and write_timeout (http3.Server has no such fields), then serves it.
type h3Handler struct {
	s                         *Server
	readTimeout, writeTimeout time.Duration
}

// streamDeadlines is what quic-go's ResponseWriter offers (http.ResponseController finds the
// same methods, at the cost of an allocation per request).
type streamDeadlines interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

func (h h3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.readTimeout > 0 || h.writeTimeout > 0 {
		if sd, ok := w.(streamDeadlines); ok {
			now := time.Now()
			if h.readTimeout > 0 {
				sd.SetReadDeadline(now.Add(h.readTimeout))
			}
			if h.writeTimeout > 0 {
				sd.SetWriteDeadline(now.Add(h.writeTimeout))
			}
		}
	}
	h.s.ServeHTTP(w, r)
}

// advertiseH3 advertises HTTP/3 on an HTTPS response of domain d: over TCP when the domain has it
// on; over HTTP/3 itself, when the domain has it off, the client is told to forget it (it came
// from an Alt-Svc it remembered).
func (s *Server) advertiseH3(h http.Header, r *http.Request, d *domain) {
	switch {
	case s.altSvc == nil:
	case r.ProtoMajor == 3:
		if !d.cfg.HTTP3 {
			h["Alt-Svc"] = altSvcClear
		}
	case d.cfg.HTTP3:
		h["Alt-Svc"] = s.altSvc
	}
}

// udpBufferProblem says what is wrong with socket buffers of rcv and snd bytes (as the
// kernel reports them) for QUIC, which wants want; "" when nothing is.
func udpBufferProblem(rcv, snd, want int) string {
	if rcv >= want && snd >= want {
		return ""
	}
	return "http3: the kernel keeps the UDP socket buffers below what QUIC wants; bursts of packets will be dropped: raise net.core.rmem_max and net.core.wmem_max"
}

// H3Addr is the bound UDP address of HTTP/3 ("" when off).
func (s *Server) H3Addr() string { return s.h3Addr }

// Shutdown sends GOAWAY, waits for the requests in flight (until ctx is done), then closes
// the socket.
func (h *h3Server) Shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	return errors.Join(err, h.closeSocket())
}

// Close ends every connection at once and closes the socket.
func (h *h3Server) Close() error {
	return errors.Join(h.srv.Close(), h.closeSocket())
}

func (h *h3Server) closeSocket() (err error) {
	h.close.Do(func() { err = errors.Join(h.ln.Close(), h.conn.Close()) })
	return err
}
