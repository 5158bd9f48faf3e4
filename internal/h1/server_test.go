package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer serves h on 127.0.0.1 and stops the server when the test ends.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.ErrorLog == nil {
		s.ErrorLog = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

// echoHandler answers with what it saw; /noread leaves the body unread,
// /stream writes without Content-Length, /cl writes "hello" with one.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/noread":
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
		return
	case "/stream":
		io.WriteString(w, "part1,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
		return
	case "/cl":
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
		return
	case "/short":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "hello")
		return
	case "/nocontent":
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "ignored")
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-Close", fmt.Sprint(r.Close))
	w.Write(b)
}

// exchange writes raw to a new connection and reads len(methods)
// responses, then reports whether the server closed the connection
// (an extra probe request gets no answer) or kept it open (it does).
func exchange(t *testing.T, addr, raw string, methods ...string) ([]*http.Response, [][]byte, bool) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	var resps []*http.Response
	var bodies [][]byte
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("reading response %d: %v", len(resps)+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		resps, bodies = append(resps, resp), append(bodies, b)
		if err != nil { // a truncated body: the server must have closed
			return resps, bodies, true
		}
	}
	io.WriteString(nc, "GET /cl HTTP/1.1\r\nHost: probe\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return resps, bodies, true
	}
	resp.Body.Close()
	return resps, bodies, false
}

// serverModes are the ways a Server can serve a plain connection: a goroutine per
// connection, or event loops whose handler answers inline or declines every request (each
// declined request moves its connection to a goroutine).
var serverModes = []struct {
	name  string
	start func(t testing.TB, h http.Handler, s *Server) string
}{
	{"goroutines", func(t testing.TB, h http.Handler, s *Server) string { s.Handler = h; return startServer(t, s) }},
	{"loops-inline", func(t testing.TB, h http.Handler, s *Server) string {
		s.Handler, s.EventLoops = inlineAll{h}, 2
		return startServer(t, s)
	}},
	{"loops-declined", func(t testing.TB, h http.Handler, s *Server) string {
		s.Handler, s.EventLoops = declineAll{h}, 2
		return startServer(t, s)
	}},
}

// inlineAll serves every request a loop offers inline.
type inlineAll struct{ http.Handler }

func (h inlineAll) ServeInline(w http.ResponseWriter, r *http.Request) bool {
	h.ServeHTTP(w, r)
	return true
}

// declineAll declines every request a loop offers.
type declineAll struct{ http.Handler }

func (declineAll) ServeInline(http.ResponseWriter, *http.Request) bool { return false }

func TestConformance(t *testing.T) {
	for _, mode := range serverModes {
		t.Run(mode.name, func(t *testing.T) {
			testConformance(t, mode.start(t, http.HandlerFunc(echoHandler), &Server{}))
		})
	}
}

func testConformance(t *testing.T, addr string) {
	type want struct {
		statuses []int
		bodies   []string // checked when non-nil
		closed   bool
		chunked  bool // the first response is chunked
	}
	tests := []struct {
		name    string
		raw     string
		methods []string // one per expected response; "" is GET
		want    want
	}{
		{"GET", "GET /cl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"hello"}}},
		{"HEAD keeps Content-Length, no body", "HEAD /cl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HEAD"}, want{statuses: []int{200}, bodies: []string{""}}},
		{"POST with Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde", []string{"POST"}, want{statuses: []int{200}, bodies: []string{"abcde"}}},
		{"chunked POST", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n", []string{"POST"}, want{statuses: []int{200}, bodies: []string{"abcde"}}},
		{"pipelined three", "GET /cl HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /stream HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET", "POST", "GET"}, want{statuses: []int{200, 200, 200}, bodies: []string{"hello", "xyz", "part1,part2"}}},
		{"HTTP/1.0 closes", "GET /cl HTTP/1.0\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"hello"}, closed: true}},
		{"HTTP/1.0 keep-alive", "GET /cl HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"hello"}}},
		{"HTTP/1.0 streamed body is close-delimited", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"part1,part2"}, closed: true}},
		{"Connection: close", "GET /cl HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, closed: true}},
		{"chunked response", "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"part1,part2"}, chunked: true}},
		{"short body closes", "GET /short HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"hello"}, closed: true}},
		{"204 has no body", "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{204}, bodies: []string{""}}},
		{"unread small body is drained", "POST /noread HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", []string{"POST"}, want{statuses: []int{200}, bodies: []string{"ok"}}},
		{"unread huge body closes", "POST /noread HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\nabcd", []string{"POST"}, want{statuses: []int{200}, closed: true}},
		{"leading CRLF ignored", "\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{200}}},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", []string{"OPTIONS"}, want{statuses: []int{200}}},
		{"absolute-form", "GET http://b.example/cl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}, want{statuses: []int{200}, bodies: []string{"hello"}}},
		// Rejections: status and close.
		{"CL and TE", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"TE and CL", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"two differing CLs", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", nil, want{statuses: []int{400}, closed: true}},
		{"CL with sign", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", nil, want{statuses: []int{400}, closed: true}},
		{"CL list", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", nil, want{statuses: []int{400}, closed: true}},
		{"TE gzip", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"TE gzip, chunked", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", nil, want{statuses: []int{501}, closed: true}},
		{"TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"obs-fold", "GET /cl HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"space before colon", "GET /cl HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"control character in value", "GET /cl HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"bare LF line ending", "GET /cl HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"bare CR in value", "GET /cl HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"missing Host", "GET /cl HTTP/1.1\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"two Hosts", "GET /cl HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"bad Host", "GET /cl HTTP/1.1\r\nHost: a b\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"bad method chars", "G(T /cl HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"double space", "GET  /cl HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"HTTP/2.0", "GET /cl HTTP/2.0\r\nHost: a\r\n\r\n", nil, want{statuses: []int{505}, closed: true}},
		{"HTTP/1.2", "GET /cl HTTP/1.2\r\nHost: a\r\n\r\n", nil, want{statuses: []int{505}, closed: true}},
		{"lower-case version", "GET /cl http/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", nil, want{statuses: []int{501}, closed: true}},
		{"asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"relative target", "GET cl HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"bad escape", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"raw UTF-8 target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{400}, closed: true}},
		{"unknown expectation", "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", nil, want{statuses: []int{417}, closed: true}},
		// The handler reads these bodies, gets an error and answers 400
		// with http.Error (chunked); the broken body closes the connection.
		{"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n", []string{"POST"}, want{statuses: []int{400}, closed: true, chunked: true}},
		{"chunk size not hex", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", []string{"POST"}, want{statuses: []int{400}, closed: true, chunked: true}},
		{"chunk without CRLF after data", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", []string{"POST"}, want{statuses: []int{400}, closed: true, chunked: true}},
		{"chunk line bare LF", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", []string{"POST"}, want{statuses: []int{400}, closed: true, chunked: true}},
		{"trailer too large", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + strings.Repeat("t", 70<<10) + "\r\n\r\n", []string{"POST"}, want{statuses: []int{400}, closed: true, chunked: true}},
		{"too large header", "GET /cl HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("x", 70<<10) + "\r\n\r\n", nil, want{statuses: []int{431}, closed: true}},
		{"too long request line", "GET /" + strings.Repeat("x", 70<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", nil, want{statuses: []int{414}, closed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methods := tt.methods
			if methods == nil {
				methods = []string{"GET"}
			}
			resps, bodies, closed := exchange(t, addr, tt.raw, methods...)
			for i, resp := range resps {
				if resp.StatusCode != tt.want.statuses[i] {
					t.Errorf("response %d: status %d, want %d (body %q)", i+1, resp.StatusCode, tt.want.statuses[i], bodies[i])
				}
				if tt.want.bodies != nil && string(bodies[i]) != tt.want.bodies[i] {
					t.Errorf("response %d: body %q, want %q", i+1, bodies[i], tt.want.bodies[i])
				}
				if resp.Header.Get("Date") == "" {
					t.Errorf("response %d: no Date", i+1)
				}
			}
			if closed != tt.want.closed {
				t.Errorf("connection closed = %v, want %v", closed, tt.want.closed)
			}
			if chunked := len(resps[0].TransferEncoding) > 0; chunked != tt.want.chunked {
				t.Errorf("chunked = %v, want %v", chunked, tt.want.chunked)
			}
		})
	}
}
