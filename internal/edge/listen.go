package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/h1"
)

// Start binds the configured listeners and serves them in the background. Binding happens
// before Start returns, so a caller can print the addresses (":0" picks a free port).
func (s *Server) Start() error {
	sc := s.cfg.Server
	mk := func() *http.Server {
		return &http.Server{
			Handler:           s,
			ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
			ReadTimeout:       sc.ReadTimeout.D(),
			WriteTimeout:      sc.WriteTimeout.D(),
			IdleTimeout:       sc.IdleTimeout.D(),
			MaxHeaderBytes:    int(sc.MaxHeaderBytes),
			// Handshake failures and client resets are routine on a public edge: debug level.
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	if l := s.cfg.Listen; l != "" && l != config.ListenOff {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return err
		}
		s.addrs = append(s.addrs, ln.Addr().String())
		if sc.HTTP1 == config.HTTP1Stdlib {
			srv := mk()
			s.servers = append(s.servers, srv)
			s.run(func() error { return srv.Serve(ln) })
		} else {
			srv := &h1.Server{
				Handler:           s,
				ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
				ReadTimeout:       sc.ReadTimeout.D(),
				WriteTimeout:      sc.WriteTimeout.D(),
				IdleTimeout:       sc.IdleTimeout.D(),
				MaxHeaderBytes:    int(sc.MaxHeaderBytes),
				ErrorLog:          s.log,
				EventLoops:        s.eventLoops(),
			}
			s.servers = append(s.servers, srv)
			s.run(func() error { return srv.Serve(ln) })
		}
	}
	if l := s.cfg.TLSListen; l != "" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			s.Shutdown(context.Background())
			return err
		}
		srv := mk()
		srv.TLSConfig = &tls.Config{
			GetCertificate: s.certificate,
			MinVersion:     tlsVersion(s.cfg.Server.TLSMinVersion),
			NextProtos:     []string{"h2", "http/1.1"},
		}
		if sc.HTTP3 {
			// Before the TLS server runs: its requests read the Alt-Svc value (plain HTTP
			// ones, already served, never do).
			if err := s.startHTTP3(ln.Addr().(*net.TCPAddr)); err != nil {
				ln.Close()
				s.Shutdown(context.Background())
				return err
			}
		}
		s.servers = append(s.servers, srv)
		s.tlsAddr.Store(ln.Addr().String())
		s.run(func() error { return srv.ServeTLS(ln, "", "") })
	}
	s.ready.Store(true)
	return nil
}

func (s *Server) run(run func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener stopped", "err", err)
		}
	}()
}

// Addr is the bound plain-HTTP address ("" when off); TLSAddr the HTTPS one.
func (s *Server) Addr() string {
	if len(s.addrs) == 0 {
		return ""
	}
	return s.addrs[0]
}

func (s *Server) TLSAddr() string { return s.tlsAddr.Load() }

// Shutdown stops accepting, lets in-flight requests finish until ctx is done, then closes.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			srv.Close()
		}
	}
	s.wg.Wait()
	s.releaseLoops()
	s.closeRoutes()
	if err := s.cache.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stoppable is a running server of any kind (net/http for TLS and on request, h1 for plain
// HTTP/1.1, http3 for HTTP/3).
type stoppable interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// listeners holds what Start created.
type listeners struct {
	servers []stoppable
	addrs   []string
	tlsAddr atomicString // set after the plain listener serves: an https_only redirect reads it meanwhile
	h3Addr  string       // the UDP address of HTTP/3; "" when off
	altSvc  []string     // the Alt-Svc value advertising it; nil when off
	// loopsHeld is how many Ps eventLoops added to GOMAXPROCS for this edge's loops.
	loopsHeld int
	wg        sync.WaitGroup
}

func tlsVersion(v string) uint16 {
	if v == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// procsAtStart is GOMAXPROCS as the process started, before eventLoops raised it.
var procsAtStart = runtime.GOMAXPROCS(0)

// loopProcs counts the event loops of every edge of the process (the demo runs several).
var loopProcs struct {
	sync.Mutex
	n int
}

// eventLoops is the number of event loops of the plain-HTTP listener (server.event_loops),
// with GOMAXPROCS raised by as many: a loop waits for its sockets in epoll_wait, holding its
// P (the runtime takes it back only at its monitor's next tick, up to 10 ms on an idle
// process), so without the extra Ps the goroutines of misses, TLS and the admin API would
// wait for them. The loops are busy exactly when the hits come, and then they run where
// goroutines would have run the same hits. Shutdown gives the Ps back (releaseLoops).
func (s *Server) eventLoops() int {
	if runtime.GOOS != "linux" || s.cfg.Server.HTTP1 != config.HTTP1Native {
		return 0
	}
	loops := s.cfg.Server.EventLoops.Count(procsAtStart)
	if loops == 0 {
		return 0
	}
	s.loopsHeld += loops
	was, now := adjustLoopProcs(loops)
	s.log.Info("event loops serve plain HTTP/1.1; GOMAXPROCS raised to keep the goroutines' CPUs",
		"loops", loops, "gomaxprocs", now, "was", was)
	return loops
}

// releaseLoops gives back the Ps eventLoops added.
func (s *Server) releaseLoops() {
	if s.loopsHeld > 0 {
		adjustLoopProcs(-s.loopsHeld)
		s.loopsHeld = 0
	}
}

func adjustLoopProcs(delta int) (was, now int) {
	loopProcs.Lock()
	defer loopProcs.Unlock()
	loopProcs.n += delta
	now = procsAtStart + loopProcs.n
	return runtime.GOMAXPROCS(now), now
}

// atomicString is a string read and written concurrently; the zero value holds "".
type atomicString struct{ v atomic.Pointer[string] }

func (a *atomicString) Store(s string) { a.v.Store(&s) }

func (a *atomicString) Load() string {
	if p := a.v.Load(); p != nil {
		return *p
	}
	return ""
}
