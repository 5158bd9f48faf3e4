package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTransport drives the server with net/http's client: keep-alive
// connections, concurrent requests, bodies both ways.
func TestTransport(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		if r.URL.Query().Get("stream") != "" {
			w.Write(b)
			w.Write([]byte(r.URL.Path))
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)+len(r.URL.Path)))
		w.Write(b)
		io.WriteString(w, r.URL.Path)
	})})
	var dials atomic.Int32
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	const workers, perWorker = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				checkRoundTrip(t, client, addr, w, i)
			}
		})
	}
	wg.Wait()
	// Without keep-alive every request dials; with it, a loaded machine may still see a few
	// extra dials (the client's idle pool races its own workers).
	if n := dials.Load(); n > workers*perWorker/10 {
		t.Errorf("%d dials for %d requests: keep-alive not working", n, workers*perWorker)
	}
}

func checkRoundTrip(t *testing.T, client *http.Client, addr string, w, i int) {
	path := fmt.Sprintf("/w%d/r%d", w, i)
	url := "http://" + addr + path
	if i%3 == 0 {
		url += "?stream=1"
	}
	body := strings.Repeat("x", i*37)
	var resp *http.Response
	var err error
	if i%2 == 0 {
		resp, err = client.Get(url)
		body = ""
	} else {
		resp, err = client.Post(url, "text/plain", strings.NewReader(body))
	}
	if err != nil {
		t.Error(err)
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != body+path {
		t.Errorf("%s: body %q, %v; want %q", url, got, err, body+path)
	}
}

// TestTransportChunkedUpload sends a body of unknown length, which the
// client chunks.
func TestTransportChunkedUpload(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d %v %v", n, err, r.TransferEncoding)
	})})
	pr, pw := io.Pipe()
	go func() {
		for range 100 {
			pw.Write(bytes.Repeat([]byte("y"), 1000))
		}
		pw.Close()
	}()
	resp, err := http.Post("http://"+addr+"/", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if string(got) != "100000 <nil> [chunked]" {
		t.Errorf("got %q", got)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(echoHandler)})
	nc := dial(t, addr)
	io.WriteString(nc, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(nc)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("100 Continue not followed by an empty line: %q", blank)
	}
	io.WriteString(nc, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
		t.Errorf("body %q", b)
	}
}

// TestExpectContinueNotRead: a handler answering without reading the body
// sends no 100 Continue and closes the connection, since the client may
// never send the body.
func TestExpectContinueNotRead(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(echoHandler)})
	resps, _, closed := exchange(t, addr, "POST /noread HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "POST")
	if resps[0].StatusCode != 200 || !closed {
		t.Errorf("status %d closed %v; want 200 and closed", resps[0].StatusCode, closed)
	}
}

func TestClientTransportExpectContinue(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(echoHandler)})
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+addr+"/echo", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "payload" {
		t.Errorf("body %q", b)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return nc
}

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPanics(t *testing.T) {
	var logs syncBuffer
	addr := startServer(t, &Server{
		ErrorLog: slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/abort":
				w.Header().Set("Content-Length", "10")
				io.WriteString(w, "hello")
				panic(http.ErrAbortHandler)
			case "/bug-before":
				panic("bug before writing")
			case "/bug-after":
				io.WriteString(w, "partial")
				panic("bug after writing")
			}
		}),
	})
	t.Run("abort", func(t *testing.T) {
		nc := dial(t, addr)
		io.WriteString(nc, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
		if b, _ := io.ReadAll(nc); len(b) != 0 {
			t.Errorf("aborted handler sent %q", b)
		}
	})
	t.Run("bug before writing", func(t *testing.T) {
		resps, _, closed := exchange(t, addr, "GET /bug-before HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
		if resps[0].StatusCode != 500 || !closed {
			t.Errorf("status %d closed %v", resps[0].StatusCode, closed)
		}
	})
	t.Run("bug after writing", func(t *testing.T) {
		nc := dial(t, addr)
		io.WriteString(nc, "GET /bug-after HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
		}
		if err == nil {
			t.Errorf("a panicking handler's response arrived complete")
		}
	})
	if s := logs.String(); !strings.Contains(s, "bug before writing") || !strings.Contains(s, "goroutine") ||
		strings.Contains(s, "abort") {
		t.Errorf("log should hold both bugs with a stack and no abort:\n%s", s)
	}
}

func TestResponseController(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for _, err := range []error{
			rc.SetWriteDeadline(time.Now().Add(time.Minute)),
			rc.SetReadDeadline(time.Now().Add(time.Minute)),
			rc.EnableFullDuplex(),
		} {
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
		io.WriteString(w, "flushed")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})
	nc := dial(t, addr)
	io.WriteString(nc, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Full duplex: the header and first bytes arrive before the body is sent.
	first := make([]byte, len("flushed"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "flushed" {
		t.Fatalf("first part %q, %v", first, err)
	}
	io.WriteString(nc, "body")
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "body" {
		t.Errorf("rest %q, %v", rest, err)
	}
}

func TestWriteSemantics(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/too-long":
			h.Set("Content-Length", "3")
			_, err := io.WriteString(w, "four")
			h2 := errors.Is(err, http.ErrContentLength)
			io.WriteString(w, fmt.Sprint(h2)[:3])
		case "/split":
			h.Set("X-Evil", "a\r\nSet-Cookie: pwned=1")
			h.Set("X-Good", "fine")
		case "/twice":
			w.WriteHeader(202)
			w.WriteHeader(500)
		case "/304":
			h.Set("Content-Length", "100")
			w.WriteHeader(304)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("write to 304: %v", err)
			}
		case "/date":
			h.Set("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
		case "/readfrom":
			io.Copy(w, io.LimitReader(strings.NewReader(strings.Repeat("r", 100000)), 100000))
		case "/readfrom-cl":
			h.Set("Content-Length", "70000")
			io.Copy(w, strings.NewReader(strings.Repeat("c", 70000)))
		}
	})})
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, bodies, _ := exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
		return resp[0], string(bodies[0])
	}
	if resp, body := get("/too-long"); body != "tru" || resp.ContentLength != 3 {
		t.Errorf("too-long: %q %d", body, resp.ContentLength)
	}
	if resp, _ := get("/split"); resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Evil") != "" || resp.Header.Get("X-Good") != "fine" {
		t.Errorf("split: %v", resp.Header)
	}
	if resp, body := get("/twice"); resp.StatusCode != 202 || body != "" || resp.ContentLength != 0 {
		t.Errorf("twice: %d %q %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, _ := get("/304"); resp.StatusCode != 304 || resp.Header.Get("Content-Length") != "100" {
		t.Errorf("304: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get("/date"); resp.Header.Get("Date") != "Mon, 01 Jan 2001 00:00:00 GMT" {
		t.Errorf("date: %v", resp.Header)
	}
	if resp, body := get("/readfrom"); body != strings.Repeat("r", 100000) || len(resp.TransferEncoding) == 0 {
		t.Errorf("readfrom: %d bytes, %v", len(body), resp.TransferEncoding)
	}
	if resp, body := get("/readfrom-cl"); body != strings.Repeat("c", 70000) || resp.ContentLength != 70000 {
		t.Errorf("readfrom-cl: %d bytes, %d", len(body), resp.ContentLength)
	}
}

func TestDateHeaderFromClock(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC).Unix())
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	s.clock = func() time.Time { return time.Unix(now.Load(), 0) }
	addr := startServer(t, s)
	resps, _, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if got := resps[0].Header.Get("Date"); got != "Mon, 06 May 2030 07:08:09 GMT" {
		t.Errorf("Date %q", got)
	}
	now.Add(1)
	resps, _, _ = exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if got := resps[0].Header.Get("Date"); got != "Mon, 06 May 2030 07:08:10 GMT" {
		t.Errorf("Date a second later %q", got)
	}
}
