package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// raw sends bytes to the edge's listener and returns the status line of the answer ("" when
// the connection closed without one).
func (hs *harness) raw(t *testing.T, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", hs.edge.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return ""
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestHostileInput runs the shapes attackers send against a real listening edge: none may
// reach the origin, each gets its status.
func TestHostileInput(t *testing.T) {
	hs := newHarness(t, static("fine", "Cache-Control: max-age=60"), harnessOpt{})
	const host = "Host: example.com\r\n"
	for _, tc := range []struct {
		name, req, status string
	}{
		{"traversal", "GET /../etc/passwd HTTP/1.1\r\n" + host + "\r\n", "400"},
		{"encoded traversal", "GET /img/%2e%2e/%2E%2E/secret HTTP/1.1\r\n" + host + "\r\n", "400"},
		{"dot segment at the end", "GET /a/.. HTTP/1.1\r\n" + host + "\r\n", "400"},
		{"NUL", "GET /a%00.jpg HTTP/1.1\r\n" + host + "\r\n", "400"},
		{"CL and TE", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"two lengths", "POST /x HTTP/1.1\r\n" + host + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "400"},
		{"obs-fold", "GET /x HTTP/1.1\r\n" + host + "X-A: 1\r\n  folded\r\n\r\n", "400"},
		{"space before colon", "GET /x HTTP/1.1\r\nHost : example.com\r\n\r\n", "400"},
		{"huge header", "GET /x HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", "431"},
		{"long URL", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + host + "\r\n", "414"},
		{"unknown host", "GET /x HTTP/1.1\r\nHost: internal.corp\r\n\r\n", "421"},
		{"absolute-form to another host", "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\n" + host + "\r\n", "421"},
	} {
		got := hs.raw(t, tc.req)
		if !strings.Contains(got, " "+tc.status+" ") {
			t.Errorf("%s: got %q, want %s", tc.name, got, tc.status)
		}
	}
	if n := hs.origin.hits.Load(); n != 0 {
		t.Fatalf("%d hostile requests reached the origin", n)
	}
	expect(t, hs.get("/ok"), 200, "fine") // and the edge still serves
}

func TestSlowlorisIsCutOff(t *testing.T) {
	hs := newHarness(t, static("fine"), harnessOpt{serverYAML: "  read_header_timeout: 200ms\n"})
	c, err := net.Dial("tcp", hs.edge.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.com\r\n") // and never the blank line
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	b, _ := io.ReadAll(c) // returns when the edge closes the connection
	if time.Since(start) > 5*time.Second {
		t.Fatalf("a trickling client held the connection for %v", time.Since(start))
	}
	if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 408") && !strings.HasPrefix(string(b), "HTTP/1.1 400") {
		t.Fatalf("answered %q", b)
	}
}

// TestClientGoneMidResponse: a client that reads a little of a large streamed fill and hangs
// up must not break the fill for others nor leave it registered.
func TestClientGoneMidResponse(t *testing.T) {
	body := largeBody(4 << 20)
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	}, harnessOpt{diskDir: t.TempDir(), cacheYAML: "  memory_object_max: 64KiB\n"})
	c, err := net.Dial("tcp", hs.edge.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n")
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Close() // gone after 4 KiB
	waitFor(t, "the fill to finish without its client", func() bool {
		r := hs.get("/big")
		return r.StatusCode == 200 && r.body == string(body) && strings.Contains(r.cacheStatus(), "hit")
	})
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
	if left := hs.edge.cache.InFlight(); left != 0 {
		t.Fatalf("%d flights left registered", left)
	}
}

// FuzzBadPath: every path badPath lets through is free of dot segments and NUL bytes, so
// joining it under an origin's root or path prefix cannot climb out.
func FuzzBadPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/..", "/a/../b", "/./", "/...", "/a/.b", "/a\x00", "//..//", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if badPath(p) {
			return
		}
		if strings.IndexByte(p, 0) >= 0 {
			t.Fatalf("NUL passed: %q", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment passed: %q", p)
			}
		}
	})
}
