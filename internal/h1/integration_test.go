package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestFileServer runs net/http's FileServer (ServeContent: ranges,
// conditionals, HEAD) behind h1 and checks what a client sees.
func TestFileServer(t *testing.T) {
	files := fstest.MapFS{"img/a.txt": {Data: []byte("0123456789"), ModTime: time.Unix(1e9, 0)}}
	addr := startServer(t, &Server{Handler: http.FileServer(http.FS(files))})
	client := &http.Client{Transport: &http.Transport{}}
	do := func(method, rng, ims string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+"/img/a.txt", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		if ims != "" {
			req.Header.Set("If-Modified-Since", ims)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := do("GET", "", ""); resp.StatusCode != 200 || body != "0123456789" || resp.ContentLength != 10 {
		t.Errorf("GET: %d %q %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, body := do("GET", "bytes=2-4", ""); resp.StatusCode != 206 || body != "234" {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if resp, body := do("HEAD", "", ""); resp.StatusCode != 200 || body != "" || resp.ContentLength != 10 {
		t.Errorf("HEAD: %d %q %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, _ := do("GET", "", time.Unix(2e9, 0).UTC().Format(http.TimeFormat)); resp.StatusCode != 304 {
		t.Errorf("conditional: %d", resp.StatusCode)
	}
}

// TestReusedRequestIsReset: a request reused on a keep-alive connection
// carries nothing from the previous one (ServeMux path values included).
func TestReusedRequestIsReset(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a/{x}", func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("extra", "1")
		w.Header().Set("X-Stale", "from-a")
		io.WriteString(w, r.PathValue("x"))
	})
	mux.HandleFunc("GET /b", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("x")+r.PathValue("extra")+r.Pattern+r.Header.Get("X-A"))
	})
	addr := startServer(t, &Server{Handler: mux})
	resps, bodies, closed := exchange(t, addr,
		"GET /a/val HTTP/1.1\r\nHost: a\r\nX-A: first\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "GET")
	if string(bodies[0]) != "val" || string(bodies[1]) != "GET /b" || closed {
		t.Errorf("bodies %q %q closed %v", bodies[0], bodies[1], closed)
	}
	if resps[1].Header.Get("X-Stale") != "" {
		t.Errorf("response header leaked into the next response")
	}
}

func TestCommonKeysAreCanonical(t *testing.T) {
	for lower, canon := range commonKeys {
		if textproto.CanonicalMIMEHeaderKey(lower) != canon || canonicalKey(lower) != canon {
			t.Errorf("%q: table %q, textproto %q", lower, canon, textproto.CanonicalMIMEHeaderKey(lower))
		}
	}
	for _, k := range []string{"x-custom-thing", "X-CUSTOM", "already-Mixed", "Www-Authenticate", "a"} {
		if got, want := canonicalKey(k), textproto.CanonicalMIMEHeaderKey(k); got != want {
			t.Errorf("canonicalKey(%q) = %q, want %q", k, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { canonicalKey("user-agent") }); n != 0 {
		t.Errorf("canonicalKey of a common lower-case name allocates %v times", n)
	}
}

// TestKeepAliveAllocs guards the hot path: a GET served on a kept-alive
// connection must not allocate (the header arena is amortised over many
// requests). The client side below allocates nothing.
func TestKeepAliveAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are process-wide")
	}
	if n := keepAliveAllocs(t, &Server{Handler: objectHandler(1024)}); n > 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// keepAliveAllocs serves 2000 requests on one kept-alive connection to s and returns the
// allocations per request (the client's included: none).
func keepAliveAllocs(t *testing.T, s *Server) float64 {
	nc, err := net.Dial("tcp", startServer(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 16<<10)
	req := []byte(benchRequest)
	return testing.AllocsPerRun(2000, func() {
		nc.Write(req)
		if err := readResponse(br); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTimeouts(t *testing.T) {
	t.Run("ReadTimeout bounds a slow body", func(t *testing.T) {
		errs := make(chan error, 1)
		addr := startServer(t, &Server{ReadTimeout: 100 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.ReadAll(r.Body)
			errs <- err
		})})
		nc := dial(t, addr)
		io.WriteString(nc, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly a part")
		if err := <-errs; err == nil || !isTimeout(err) {
			t.Errorf("body read: %v, want a timeout", err)
		}
	})
	t.Run("WriteTimeout bounds a response the client does not read", func(t *testing.T) {
		errs := make(chan error, 1)
		addr := startServer(t, &Server{WriteTimeout: 100 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("w", 1<<20))
			for {
				if _, err := w.Write(chunk); err != nil {
					errs <- err
					return
				}
			}
		})})
		nc := dial(t, addr)
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if err := <-errs; !isTimeout(err) {
			t.Errorf("write: %v, want a timeout", err)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
