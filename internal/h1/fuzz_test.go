package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzParseHead feeds arbitrary bytes to the request parser. It must never
// panic, never accept a request framed by both Content-Length and
// Transfer-Encoding, and whatever it accepts net/http must read as the
// same request (h1 is the stricter of the two).
func FuzzParseHead(f *testing.F) {
	for _, raw := range differentialCorpus {
		f.Add(raw)
	}
	f.Add("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	f.Add("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		h := head{header: make(http.Header)}
		if err := parseHead(raw, &h); err != nil {
			return
		}
		if h.chunked && h.contentLength >= 0 {
			t.Fatalf("accepted both framings: %q", raw)
		}
		if h.minor == 1 && strings.Count(strings.ToLower(raw), "\r\nhost:") != 1 {
			t.Fatalf("HTTP/1.1 accepted without exactly one Host: %q", raw)
		}
		var u url.URL
		if _, err := parseTarget(h.method, h.target, &u); err != nil {
			return
		}
		compareWithNetHTTP(t, raw, &h, &u)
	})
}

func compareWithNetHTTP(t *testing.T, raw string, h *head, u *url.URL) {
	if !strings.HasSuffix(raw, "\r\n\r\n") {
		t.Fatalf("accepted a block without its final CRLF: %q", raw)
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("h1 accepted what net/http refuses (%v): %q", err, raw)
	}
	if r.Method != h.method || r.RequestURI != h.target || r.URL.String() != u.String() ||
		r.URL.RawPath != u.RawPath || r.ContentLength != max(h.contentLength, 0) && !h.chunked {
		t.Fatalf("net/http reads %q differently: %s %s %q %d vs %s %s %q %d",
			raw, r.Method, r.URL, r.URL.RawPath, r.ContentLength, h.method, u, u.RawPath, h.contentLength)
	}
	for k, vv := range r.Header {
		if k == "Host" || k == "Content-Length" {
			continue
		}
		if got := h.header[k]; strings.Join(got, "\x00") != strings.Join(vv, "\x00") {
			t.Fatalf("header %s: h1 %q, net/http %q in %q", k, got, vv, raw)
		}
	}
}

// FuzzChunkLine: the chunk-size parser never panics and never returns a
// size beyond maxChunkSize or a negative one.
func FuzzChunkLine(f *testing.F) {
	for _, s := range []string{"0\r\n", "a;x=y\r\n", "ffffffffffffffffff\r\n", "5 ;e\r\n", "\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		n, err := parseChunkLine(line)
		if err == nil && (n < 0 || n >= maxChunkSize) {
			t.Fatalf("%q: size %d", line, n)
		}
	})
}

// FuzzServeConn sends arbitrary bytes over a real connection to a running
// server: no server goroutine may panic, the server must end the exchange
// once the client half-closes, and whatever it sends must be HTTP/1.1
// responses.
func FuzzServeConn(f *testing.F) {
	for _, raw := range differentialCorpus {
		f.Add(raw)
	}
	f.Add("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
	f.Add("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
	addr := startServer(f, &Server{Handler: http.HandlerFunc(echoHandler), ReadHeaderTimeout: 5 * time.Second})
	f.Fuzz(func(t *testing.T, raw string) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			io.WriteString(nc, raw)
			nc.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(nc)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%q: %v after %q", raw, err, out)
		}
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("%q: answered %q", raw, out)
		}
	})
}
