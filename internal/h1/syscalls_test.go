package h1

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// countingListener counts the Write calls made on accepted connections:
// each is one write syscall on a TCP connection.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func TestOneWritePerResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	s := &Server{Handler: objectHandler(20 << 10), ErrorLog: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go s.Serve(cl)
	defer s.Close()
	addr := ln.Addr().String()

	_, bodies, closed := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if len(bodies[0]) != 20<<10 || closed {
		t.Fatalf("body %d bytes, closed %v", len(bodies[0]), closed)
	}
	// exchange's probe request adds one response, hence 2.
	if n := cl.writes.Load(); n != 2 {
		t.Errorf("%d writes for a 20 KB response and a probe, want 2", n)
	}
	cl.writes.Store(0)
	three := "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
	exchange(t, addr, three, "GET", "GET", "GET")
	if n := cl.writes.Load(); n != 2 {
		t.Errorf("%d writes for three pipelined 20 KB responses and a probe, want 2", n)
	}
}

func TestNoContentSniffing(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>hi</body></html>")
	})})
	resps, _, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if ct, ok := resps[0].Header["Content-Type"]; ok {
		t.Errorf("Content-Type %q was added", ct)
	}
}
