package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFailoverToBackupServer(t *testing.T) {
	backup := httptest.NewServer(static("from backup", "Cache-Control: max-age=60"))
	defer backup.Close()
	hs := newHarness(t, static("from primary", "Cache-Control: max-age=60"), harnessOpt{})
	// Rebuild the edge with the test origin as primary and a backup behind it.
	hs.stop()
	hs.start(harnessOpt{
		servers:    fmt.Sprintf("        - url: %q\n          priority: 1\n", backup.URL),
		domainYAML: "      fail_threshold: 1\n      fail_cooldown: 1h\n",
	})
	expect(t, hs.get("/one"), 200, "from primary")
	hs.origin.srv.Close() // the primary dies
	expect(t, hs.get("/two"), 200, "from backup", "stored")
	expect(t, hs.get("/three"), 200, "from backup")
	expect(t, hs.get("/one"), 200, "from primary", "hit") // cached before the outage
}

func TestBackgroundRevalidationIsCoalesced(t *testing.T) {
	hs := newHarness(t, static("old", "Cache-Control: max-age=10, stale-while-revalidate=600"), harnessOpt{})
	hs.get("/bg")
	release := make(chan struct{})
	hs.origin.handle(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte("new"))
	})
	hs.clock.Advance(20 * time.Second)
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expect(t, hs.get("/bg"), 200, "old", "detail=stale-while-revalidate")
		}()
	}
	wg.Wait() // every stale answer went out while the one revalidation was still blocked
	close(release)
	waitFor(t, "the revalidated object", func() bool { return hs.get("/bg").body == "new" })
	if got := hs.origin.hits.Load(); got != 2 {
		t.Fatalf("origin hits %d, want 2 (fill + one background revalidation)", got)
	}
}

func TestCatchAllDomain(t *testing.T) {
	hs := newHarness(t, static("named"), harnessOpt{})
	hs.stop()
	other := httptest.NewServer(static("catch-all", "Cache-Control: max-age=60"))
	defer other.Close()
	hs.start(harnessOpt{domainYAML: fmt.Sprintf("  - name: \"*\"\n    origin: {servers: [{url: %q}]}\n", other.URL)})
	expect(t, hs.get("/x", "Host: anything.test"), 200, "catch-all")
	expect(t, hs.get("/x", "Host: example.com"), 200, "named")
}

func TestRequestBodyLimit(t *testing.T) {
	hs := newHarness(t, static("ok"), harnessOpt{})
	big := strings.Repeat("x", 11<<20) // default max_body_bytes is 10MiB
	// A client that asks before sending the body (as curl does for large ones) gets the 413
	// without sending it; one that sends at once may see the connection cut mid-upload.
	hs.client.Transport.(*http.Transport).ExpectContinueTimeout = 5 * time.Second
	r := hs.do(http.MethodPut, "/upload", strings.NewReader(big), "Expect: 100-continue")
	expect(t, r, http.StatusRequestEntityTooLarge, "")
	if hs.origin.hits.Load() != 0 {
		t.Fatal("the oversized body reached the origin")
	}
}

func TestOriginConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte("done"))
	}, harnessOpt{domainYAML: "      max_concurrent: 1\n      max_wait: 50ms\n"})
	first := make(chan result)
	go func() { first <- hs.get("/first") }()
	waitFor(t, "the first request at the origin", func() bool { return hs.origin.hits.Load() == 1 })
	r := hs.get("/second")
	expect(t, r, http.StatusServiceUnavailable, "", "detail=origin-overloaded")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	close(release)
	expect(t, <-first, 200, "done")
}
