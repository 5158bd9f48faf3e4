package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// watchEnd is what a disconnect watch's reader saw as it ended.
type watchEnd struct{ gotByte, lost bool }

// watchServer serves h and reports every watch's end on the returned
// channel, from the reader goroutine itself: an event means that
// goroutine has finished its work.
func watchServer(t *testing.T, s *Server) (string, chan watchEnd) {
	t.Helper()
	ends := make(chan watchEnd, 16)
	s.onWatchEnd = func(gotByte, lost bool) { ends <- watchEnd{gotByte, lost} }
	return startServer(t, s), ends
}

// within fails the test if ch yields nothing for five seconds: a bound on
// a hang, not a synchronisation.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func watching(w http.ResponseWriter) bool {
	r, ok := w.(*response)
	return ok && r.c.watch.active
}

func isNoStop(stop func()) bool {
	return reflect.ValueOf(stop).Pointer() == reflect.ValueOf(noStop).Pointer()
}

// roundTrip sends one request on nc and reads its response.
func roundTrip(t *testing.T, nc net.Conn, br *bufio.Reader, path string) (string, *http.Response) {
	t.Helper()
	if _, err := io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return readBody(t, nc, br)
}

func readBody(t *testing.T, nc net.Conn, br *bufio.Reader) (string, *http.Response) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp
}

// TestWatchCancelsOnDisconnect: a handler waiting on r.Context() under a
// watch is woken when the client closes (FIN) or resets (RST) the
// connection, and the connection is then forgotten.
func TestWatchCancelsOnDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset bool
	}{{"close", false}, {"reset", true}} {
		t.Run(tc.name, func(t *testing.T) {
			entered, woken := make(chan bool, 1), make(chan error, 1)
			s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stop := WatchDisconnect(w)
				defer stop()
				entered <- watching(w)
				<-r.Context().Done()
				woken <- r.Context().Err()
				io.WriteString(w, "too late")
			})}
			addr, ends := watchServer(t, s)
			nc := dial(t, addr)
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if !within(t, "handler", entered) {
				t.Fatal("no watch started for a GET on an idle connection")
			}
			if tc.reset {
				nc.(*net.TCPConn).SetLinger(0)
			}
			nc.Close()
			if err := within(t, "context cancelled", woken); err != context.Canceled {
				t.Errorf("context error %v", err)
			}
			if e := within(t, "watch end", ends); !e.lost || e.gotByte {
				t.Errorf("watch ended with %+v, want lost", e)
			}
			waitFor(t, "connection forgotten", func() bool { return s.connCount() == 0 })
		})
	}
}

// TestWatchKeepsPipelinedByte: a request sent while the previous one is
// watched wakes the watch, which must hand the byte it read to the next
// request's parser; the first handler's context stays alive.
func TestWatchKeepsPipelinedByte(t *testing.T) {
	entered := make(chan struct{})
	var ends chan watchEnd
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/first" {
			io.WriteString(w, "second:"+r.URL.Path)
			return
		}
		stop := WatchDisconnect(w)
		if !watching(w) {
			t.Error("no watch started")
		}
		close(entered)
		if e := within(t, "watch end", ends); !e.gotByte || e.lost {
			t.Errorf("watch ended with %+v, want a byte", e)
		}
		stop()
		if err := r.Context().Err(); err != nil {
			t.Errorf("context %v after a pipelined request", err)
		}
		io.WriteString(w, "first")
	})}
	addr, ends := watchServer(t, s)
	nc := dial(t, addr)
	br := bufio.NewReader(nc)
	io.WriteString(nc, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	io.WriteString(nc, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
	if body, _ := readBody(t, nc, br); body != "first" {
		t.Errorf("first response %q", body)
	}
	if body, _ := readBody(t, nc, br); body != "second:/next" {
		t.Errorf("pipelined response %q", body)
	}
	if body, _ := roundTrip(t, nc, br, "/third"); body != "second:/third" {
		t.Errorf("third response %q", body)
	}
}

// TestWatchStopKeepsConnection: stop before the client sends anything (the
// second call a no-op) leaves the context alive and the connection usable.
func TestWatchStopKeepsConnection(t *testing.T) {
	var ends chan watchEnd
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stop := WatchDisconnect(w)
		if !watching(w) {
			t.Error("no watch started")
		}
		stop()
		stop()
		if watching(w) {
			t.Error("still watching after stop")
		}
		select {
		case e := <-ends:
			if e.gotByte || e.lost {
				t.Errorf("stopped watch ended with %+v", e)
			}
		default:
			t.Error("stop returned before the reader ended")
		}
		if err := r.Context().Err(); err != nil {
			t.Errorf("context %v after stop", err)
		}
		io.WriteString(w, "ok:"+r.URL.Path)
	}), ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
	addr, ends := watchServer(t, s)
	nc := dial(t, addr)
	br := bufio.NewReader(nc)
	for _, path := range []string{"/a", "/b", "/c"} {
		body, resp := roundTrip(t, nc, br, path)
		if body != "ok:"+path || resp.Close {
			t.Errorf("%s: %q, close %v", path, body, resp.Close)
		}
	}
}

// TestWatchForgottenStop: the server ends a watch the handler left running
// (on return and on panic) before it reads the next request.
func TestWatchForgottenStop(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WatchDisconnect(w)
		if !watching(w) {
			t.Error("no watch started")
		}
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	})}
	addr, ends := watchServer(t, s)
	nc := dial(t, addr)
	br := bufio.NewReader(nc)
	for range 2 {
		if body, _ := roundTrip(t, nc, br, "/"); body != "ok" {
			t.Errorf("response %q", body)
		}
		if e := within(t, "watch end", ends); e.gotByte || e.lost {
			t.Errorf("forgotten watch ended with %+v", e)
		}
	}
	io.WriteString(nc, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	if e := within(t, "watch end after a panic", ends); e.gotByte {
		t.Errorf("watch ended with %+v", e)
	}
	if !readsEOF(nc) {
		t.Error("connection not closed after an aborted handler")
	}
}

// TestWatchOutlivesHeaderTimeout: the header deadline still armed when the
// handler starts must not end the watch: a client that leaves after
// ReadHeaderTimeout is still noticed.
func TestWatchOutlivesHeaderTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	waited, woken := make(chan struct{}), make(chan error, 1)
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stop := WatchDisconnect(w)
		defer stop()
		select {
		case <-r.Context().Done():
			t.Error("context cancelled by the header deadline")
		case <-time.After(5 * timeout): // the scenario: a wait past the deadline
		}
		close(waited)
		<-r.Context().Done()
		woken <- r.Context().Err()
	}), ReadHeaderTimeout: timeout}
	addr, ends := watchServer(t, s)
	nc := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	within(t, "handler past the header timeout", waited)
	nc.Close()
	if err := within(t, "context cancelled", woken); err != context.Canceled {
		t.Errorf("context error %v", err)
	}
	if e := within(t, "watch end", ends); !e.lost {
		t.Errorf("watch ended with %+v, want lost", e)
	}
}

// TestWatchNoop: no watch where the client is known alive or the body is
// unread, and none for writers that are not h1's.
func TestWatchNoop(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/last" { // the last request has nothing buffered after it
			stop := WatchDisconnect(w)
			defer stop()
			if watching(w) || !isNoStop(stop) {
				t.Errorf("%s: watch started", r.URL.Path)
			}
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})}
	addr, ends := watchServer(t, s)
	two := "GET /buffered HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	_, bodies, _ := exchange(t, addr, two, "GET", "GET")
	if string(bodies[0]) != "ok" {
		t.Errorf("buffered: %q", bodies[0])
	}
	_, bodies, _ = exchange(t, addr, "POST /unread HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", "POST")
	if string(bodies[0]) != "ok" {
		t.Errorf("unread body: %q", bodies[0])
	}
	select {
	case e := <-ends:
		t.Errorf("a watch ran: %+v", e)
	default:
	}

	rec := httptest.NewRecorder()
	if !isNoStop(WatchDisconnect(rec)) || !isNoStop(WatchDisconnect(unwrapper{rec})) {
		t.Error("a watch for a writer that is not h1's")
	}
	std := startStd(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stop := WatchDisconnect(w)
		defer stop()
		if !isNoStop(stop) {
			t.Error("a watch for net/http's writer")
		}
	}))
	resp, err := http.Get("http://" + std + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestWatchThroughWrapper: the helper finds h1's writer under wrappers
// that unwrap, after a body read to its end.
func TestWatchThroughWrapper(t *testing.T) {
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		stop := WatchDisconnect(unwrapper{unwrapper{w}})
		if !watching(w) {
			t.Error("no watch through two wrappers")
		}
		stop()
		io.WriteString(w, "ok")
	})}
	addr, ends := watchServer(t, s)
	_, bodies, closed := exchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", "POST")
	if string(bodies[0]) != "ok" || closed {
		t.Errorf("%q, closed %v", bodies[0], closed)
	}
	if e := within(t, "watch end", ends); e.gotByte || e.lost {
		t.Errorf("watch ended with %+v", e)
	}
}

// TestWatchServerClose: Close during a watch cancels the context and the
// reader goroutine ends.
func TestWatchServerClose(t *testing.T) {
	entered := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer WatchDisconnect(w)()
		close(entered)
		<-r.Context().Done()
	})}
	addr, ends := watchServer(t, s)
	nc := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	s.Close()
	within(t, "watch end", ends)
	waitFor(t, "connection forgotten", func() bool { return s.connCount() == 0 })
}
