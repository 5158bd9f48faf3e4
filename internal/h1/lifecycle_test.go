package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// waitFor polls cond for up to five seconds: state changes in the server
// goroutines have no event to wait on from outside.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// readsEOF reports whether the server closed nc (within the conn's deadline).
func readsEOF(nc net.Conn) bool {
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := nc.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	})}
	addr := startServer(t, s)

	idle := dial(t, addr)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil {
		t.Fatal(err)
	}
	active := dial(t, addr)
	io.WriteString(active, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered

	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- s.Shutdown(context.Background()) }()
	if !readsEOF(idle) {
		t.Error("idle connection not closed by Shutdown")
	}
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(active), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "done" || !resp.Close {
		t.Errorf("in-flight response %q, Connection: close = %v", body, resp.Close)
	}
	if err := <-shutdownDone; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownContextExpires(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})}
	addr := startServer(t, s)
	defer close(release)
	nc := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a cancelled context: %v", err)
	}
}

func TestCloseCancelsContext(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		close(cancelled)
	})}
	addr := startServer(t, s)
	nc := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	s.Close()
	<-cancelled
}

// TestContextLivesAcrossRequests: the per-connection context is not
// cancelled between requests, only when the connection ends.
func TestContextLivesAcrossRequests(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Err() != nil {
			t.Error("context done while the handler runs")
		}
		ctxs <- r.Context()
	})})
	nc := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	io.ReadAll(nc)
	first := <-ctxs
	<-ctxs
	waitFor(t, "context cancelled after the connection closed", func() bool { return first.Err() != nil })
	if v := first.Value(http.LocalAddrContextKey); v == nil {
		t.Error("no LocalAddrContextKey")
	}
}

func TestIdleTimeout(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(echoHandler), IdleTimeout: 50 * time.Millisecond, ReadHeaderTimeout: time.Minute}
	addr := startServer(t, s)
	nc := dial(t, addr)
	io.WriteString(nc, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v", d)
	}
	waitFor(t, "connection forgotten", func() bool { return s.connCount() == 0 })
}

// TestReadHeaderTimeoutSlowloris trickles header lines faster than any
// per-read timeout would notice, and expects the header deadline to close
// the connection anyway.
func TestReadHeaderTimeoutSlowloris(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(echoHandler), ReadHeaderTimeout: 100 * time.Millisecond}
	addr := startServer(t, s)
	nc := dial(t, addr)
	io.WriteString(nc, "GET /cl HTTP/1.1\r\n")
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if _, err := io.WriteString(nc, "X-A: b\r\n"); err != nil {
			break // the server closed
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("still reading headers after 5s")
		}
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before the timeout", d)
	}
	waitFor(t, "connection forgotten", func() bool { return s.connCount() == 0 })
}

func TestValidate(t *testing.T) {
	h := http.NotFoundHandler()
	for _, s := range []*Server{
		{},
		{Handler: h, ReadTimeout: -1},
		{Handler: h, MaxHeaderBytes: -1},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: Validate accepted", s)
		}
	}
	if err := (&Server{Handler: h}).Validate(); err != nil {
		t.Error(err)
	}
}
