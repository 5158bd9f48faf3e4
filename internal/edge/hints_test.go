package edge

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const preload = "</hero.jpg>; rel=preload; as=image"

// hintingOrigin sends a 103 naming preload (and a field only the 103 has), then the page,
// whose own Link names preload and a link that is no hint.
func hintingOrigin(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", preload)
		w.Header().Set("X-Hint-Only", "1")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("X-Hint-Only")
		w.Header()["Link"] = []string{preload, "</page/2>; rel=next"}
		w.Header().Set("Cache-Control", cacheControl)
		w.Write([]byte("<html>page</html>"))
	}
}

// getHints sends a request and returns the response with the Link fields of each 103 it got
// before it.
func (hs *harness) getHints(method, path string) (result, [][]string) {
	hs.t.Helper()
	var mu sync.Mutex
	var hints [][]string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			mu.Lock()
			hints = append(hints, h["Link"])
			if h.Get("X-Hint-Only") == "" {
				hints[len(hints)-1] = append(hints[len(hints)-1], "(no X-Hint-Only)")
			}
			mu.Unlock()
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, "http://"+hs.edge.Addr()+path, nil)
	if err != nil {
		hs.t.Fatal(err)
	}
	req.Host = "example.com"
	resp, err := hs.client.Do(req)
	if err != nil {
		hs.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, rerr := bufio.NewReader(resp.Body).WriteTo(&b)
	mu.Lock()
	defer mu.Unlock()
	return result{Response: resp, body: b.String(), err: rerr}, hints
}

// A miss relays the origin's 103 (with its other fields) before the answer; the answer has
// none of the 103's own fields; the hit that follows carries no 103: nothing of it is stored.
// Both HTTP/1.1 servers (the native one and net/http's) send it.
func TestEarlyHintsRelayedOnMissNotReplayed(t *testing.T) {
	for _, h1 := range []string{"", "stdlib"} {
		hs := newHarness(t, hintingOrigin("max-age=60"), harnessOpt{http1: h1})
		r, hints := hs.getHints(http.MethodGet, "/page")
		if len(hints) != 1 || !slices.Equal(hints[0], []string{preload}) {
			t.Errorf("http1 %q miss: 103s %q, want one with Link %q and X-Hint-Only", h1, hints, preload)
		}
		if r.StatusCode != 200 || r.Header.Get("X-Hint-Only") != "" || len(r.Header["Link"]) != 2 || !strings.Contains(r.cacheStatus(), "miss") {
			t.Errorf("http1 %q miss: %d %q %q", h1, r.StatusCode, r.Header, r.body)
		}
		r, hints = hs.getHints(http.MethodGet, "/page")
		if len(hints) != 0 || !strings.Contains(r.cacheStatus(), "hit") || len(r.Header["Link"]) != 2 {
			t.Errorf("http1 %q hit: 103s %q, Cache-Status %q: want no 103 on a hit", h1, hints, r.cacheStatus())
		}
	}
}

// A pass (an uncacheable answer, a POST) relays the 103 too; with relay off, nothing is sent.
func TestEarlyHintsOnPassAndOff(t *testing.T) {
	hs := newHarness(t, hintingOrigin("no-store"), harnessOpt{})
	for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost} {
		if r, hints := hs.getHints(method, "/private"); len(hints) != 1 || r.StatusCode != 200 {
			t.Errorf("%s of an uncacheable page: %d, 103s %q", method, r.StatusCode, hints)
		}
	}
	off := newHarness(t, hintingOrigin("max-age=60"), harnessOpt{domainYAML: "    early_hints: {relay: false}\n"})
	if r, hints := off.getHints(http.MethodGet, "/page"); len(hints) != 0 || r.StatusCode != 200 {
		t.Errorf("relay off: %d, 103s %q", r.StatusCode, hints)
	}
}

// from_cache sends the stored copy's preload links (not rel=next) as a 103 on a hit, and
// before revalidating a stale copy, whose origin's own 103 follows.
func TestEarlyHintsFromCache(t *testing.T) {
	hs := newHarness(t, hintingOrigin("max-age=60"), harnessOpt{domainYAML: "    early_hints: {from_cache: true}\n"})
	hs.getHints(http.MethodGet, "/page")
	r, hints := hs.getHints(http.MethodGet, "/page")
	stored := []string{preload, "(no X-Hint-Only)"}
	if len(hints) != 1 || !slices.Equal(hints[0], stored) || !strings.Contains(r.cacheStatus(), "hit") {
		t.Errorf("hit: 103s %q (Cache-Status %q), want one of the stored preload", hints, r.cacheStatus())
	}
	hs.clock.Advance(2 * time.Minute)
	r, hints = hs.getHints(http.MethodGet, "/page")
	if len(hints) != 2 || !slices.Equal(hints[0], stored) || !slices.Equal(hints[1], []string{preload}) || !strings.Contains(r.cacheStatus(), "fwd=stale") {
		t.Errorf("revalidation: 103s %q (Cache-Status %q), want the stored one, then the origin's", hints, r.cacheStatus())
	}
}

// No 1xx goes to an HTTP/1.0 client (RFC 9110 15.2).
func TestEarlyHintsNotToHTTP10(t *testing.T) {
	hs := newHarness(t, hintingOrigin("max-age=60"), harnessOpt{})
	conn, err := net.DialTimeout("tcp", hs.edge.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("GET /page HTTP/1.0\r\nHost: example.com\r\n\r\n"))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("first line to an HTTP/1.0 client %q (%v), want the 200", line, err)
	}
}
