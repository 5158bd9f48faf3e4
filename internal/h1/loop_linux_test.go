//go:build linux

package h1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pathInline serves inline what its paths name and declines the rest.
type pathInline struct {
	http.Handler
	inline func(path string) bool
}

func (h pathInline) ServeInline(w http.ResponseWriter, r *http.Request) bool {
	if !h.inline(r.URL.Path) {
		return false
	}
	h.ServeHTTP(w, r)
	return true
}

func loopServer(t *testing.T, h http.Handler, inline func(string) bool) (*Server, string) {
	s := &Server{Handler: pathInline{h, inline}, EventLoops: 2}
	return s, startServer(t, s)
}

func TestLoopServesKeptAliveRequestsInline(t *testing.T) {
	s, addr := loopServer(t, http.HandlerFunc(echoHandler), func(string) bool { return true })
	nc := dial(t, addr)
	br := bufio.NewReader(nc)
	for i := range 50 {
		io.WriteString(nc, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
		if body, resp := readBody(t, nc, br); resp.StatusCode != 200 || body != "hello" || resp.Header.Get("Date") == "" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if n := s.InlineRequests(); n != 50 {
		t.Errorf("inline requests %d, want 50", n)
	}
	c := &conn{inline: true}
	c.resp.c = c
	if !Inline(httptestWriter{&c.resp}) || Inline(httptestWriter{}) {
		t.Error("Inline does not tell a loop's writer from another")
	}
}

type httptestWriter struct{ http.ResponseWriter }

func (w httptestWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// A declined request moves the connection to a goroutine with the pipelined requests after
// it; the answers keep their order, the first one inline.
func TestLoopDeclineKeepsPipelineOrder(t *testing.T) {
	s, addr := loopServer(t, http.HandlerFunc(echoHandler), func(p string) bool { return p == "/cl" })
	nc := dial(t, addr)
	io.WriteString(nc, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\nGET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(nc)
	for i, want := range []string{"hello", "part1,part2", "hello"} {
		if body, _ := readBody(t, nc, br); body != want {
			t.Fatalf("response %d: %q, want %q", i+1, body, want)
		}
	}
	if n := s.InlineRequests(); n != 1 {
		t.Errorf("inline requests %d, want 1 (the rest on the connection's goroutine)", n)
	}
	io.WriteString(nc, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	if body, _ := readBody(t, nc, br); body != "abc" {
		t.Errorf("after the move: %q", body)
	}
}

// A request that arrives in pieces is read on by a goroutine.
func TestLoopRequestInPieces(t *testing.T) {
	_, addr := loopServer(t, http.HandlerFunc(echoHandler), func(string) bool { return true })
	nc := dial(t, addr)
	io.WriteString(nc, "GET /cl HTTP/1.1\r\nHo")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(nc, "st: a\r\n\r\n")
	if body, resp := readBody(t, nc, bufio.NewReader(nc)); resp.StatusCode != 200 || body != "hello" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

// An answer the client does not read at once waits in the loop (EPOLLOUT) and arrives whole,
// followed by the answer to the request pipelined behind it.
func TestLoopSlowReader(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 256<<10) // 4 MiB: more than the socket buffers hold
	mid := big[:20<<10]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" || r.URL.Path == "/mid" {
			b := big
			if r.URL.Path == "/mid" {
				b = mid
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write([]byte(b))
			return
		}
		echoHandler(w, r)
	})
	s, addr := loopServer(t, h, func(string) bool { return true })
	nc := dial(t, addr)
	io.WriteString(nc, "GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // the kernel's buffers fill; the loop keeps the rest
	br := bufio.NewReader(nc)
	if body, _ := readBody(t, nc, br); body != big {
		t.Fatalf("big body: %d bytes, want %d (or different bytes)", len(body), len(big))
	}
	if body, _ := readBody(t, nc, br); body != "hello" {
		t.Fatalf("pipelined after big: %q", body)
	}
	// Pipelined answers of mixed sizes in one write buffer keep their order and bytes.
	io.WriteString(nc, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\nGET /mid HTTP/1.1\r\nHost: a\r\n\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\nGET /mid HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, want := range []string{"hello", mid, "hello", mid} {
		if body, _ := readBody(t, nc, br); body != want {
			t.Fatalf("pipelined response %d: %d bytes, want %d", i+1, len(body), len(want))
		}
	}
	if n := s.InlineRequests(); n != 6 {
		t.Errorf("inline requests %d, want 6", n)
	}
}

func TestLoopPanicAnswers500AndCloses(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		echoHandler(w, r)
	})
	_, addr := loopServer(t, h, func(string) bool { return true })
	nc := dial(t, addr)
	io.WriteString(nc, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(nc)
	if _, resp := readBody(t, nc, br); resp.StatusCode != 500 {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after a panic: %v, want EOF", err)
	}
	next := dialWrite(t, addr, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	if body, _ := readBody(t, next, bufio.NewReader(next)); body != "hello" {
		t.Errorf("next connection: %q", body)
	}
}

func dialWrite(t *testing.T, addr, raw string) net.Conn {
	nc := dial(t, addr)
	io.WriteString(nc, raw)
	return nc
}

func TestLoopIdleTimeoutAndForget(t *testing.T) {
	s := &Server{Handler: inlineAll{http.HandlerFunc(echoHandler)}, EventLoops: 1, IdleTimeout: 50 * time.Millisecond, ReadHeaderTimeout: time.Minute}
	addr := startServer(t, s)
	nc := dialWrite(t, addr, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	readBody(t, nc, bufio.NewReader(nc))
	start := time.Now()
	if !readsEOF(nc) {
		t.Fatal("idle connection not closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v (the loop sweeps once a second)", d)
	}
	waitFor(t, "connection forgotten", func() bool { return s.connCount() == 0 })
	closed := dialWrite(t, addr, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	readBody(t, closed, bufio.NewReader(closed))
	closed.Close()
	waitFor(t, "closed connection forgotten", func() bool { return s.connCount() == 0 })
}

func TestLoopShutdown(t *testing.T) {
	s := &Server{Handler: inlineAll{http.HandlerFunc(echoHandler)}, EventLoops: 2}
	addr := startServer(t, s)
	var idle []net.Conn
	for range 4 {
		nc := dialWrite(t, addr, "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
		readBody(t, nc, bufio.NewReader(nc))
		idle = append(idle, nc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, nc := range idle {
		if !readsEOF(nc) {
			t.Errorf("idle connection %d not closed", i)
		}
	}
	if n := s.connCount(); n != 0 {
		t.Errorf("%d connections left", n)
	}
	waitFor(t, "loops ended", func() bool {
		for _, l := range s.loops.loops {
			l.mu.Lock()
			stopped := l.stopped
			l.mu.Unlock()
			if !stopped {
				return false
			}
		}
		return true
	})
}

// A kept-alive request a loop answers inline allocates nothing, like one a goroutine answers
// (TestKeepAliveAllocs).
func TestLoopKeepAliveAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are process-wide")
	}
	s := &Server{Handler: inlineAll{objectHandler(1024)}, EventLoops: 1}
	if n := keepAliveAllocs(t, s); n > 0 {
		t.Errorf("%v allocations per request", n)
	}
	if s.InlineRequests() < 2000 {
		t.Errorf("only %d requests answered inline", s.InlineRequests())
	}
}
