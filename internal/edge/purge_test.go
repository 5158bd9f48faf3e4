package edge

import (
	"errors"
	"fmt"
	"github.com/pixcdn/pixcdn/internal/purge"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// versioned is an origin whose body names its version; bump changes it.
func versioned(v *atomic.Int64, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headers {
			k, val, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(val))
		}
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, v.Load()))
		if r.Header.Get("If-None-Match") == fmt.Sprintf(`"v%d"`, v.Load()) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "%s v%d", r.URL.Path, v.Load())
	}
}

// purge purges a moment after what came before (bans cover objects fetched before them).
func (hs *harness) purge(t *testing.T, req purge.Purge) {
	t.Helper()
	hs.clock.Advance(time.Millisecond)
	if _, err := hs.edge.Purge(req); err != nil {
		t.Fatal(err)
	}
}

func TestPurgeURLAllVariants(t *testing.T) {
	var v atomic.Int64
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "%s v%d", r.Header.Get("Accept-Language"), v.Load())
	}, harnessOpt{})
	for _, lang := range []string{"en", "de"} {
		hs.get("/page?x=1", "Accept-Language: "+lang)
		expect(t, hs.get("/page?x=1", "Accept-Language: "+lang), 200, lang+" v0", "hit")
	}
	hs.get("/other")
	v.Add(1)
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"https://example.com/page?x=1"}})
	for _, lang := range []string{"en", "de"} {
		expect(t, hs.get("/page?x=1", "Accept-Language: "+lang), 200, lang+" v1")
	}
	expect(t, hs.get("/other"), 200, " v0", "hit")
}

func TestPurgePrefixAndDomain(t *testing.T) {
	var v atomic.Int64
	hs := newHarness(t, versioned(&v, "Cache-Control: max-age=600"), harnessOpt{})
	for _, p := range []string{"/img/a.jpg", "/img/sub/b.jpg", "/css/c.css"} {
		hs.get(p)
	}
	v.Add(1)
	hs.purge(t, purge.Purge{Kind: purge.Prefix, Targets: []string{"www.example.com/img/"}}) // an alias names the domain
	expect(t, hs.get("/img/a.jpg"), 200, "/img/a.jpg v1", "fwd=miss")
	expect(t, hs.get("/img/sub/b.jpg"), 200, "/img/sub/b.jpg v1")
	expect(t, hs.get("/css/c.css"), 200, "/css/c.css v0", "hit")
	v.Add(1)
	hs.purge(t, purge.Purge{Kind: purge.Domain, Targets: []string{"example.com"}})
	expect(t, hs.get("/css/c.css"), 200, "/css/c.css v2")
	expect(t, hs.get("/img/a.jpg"), 200, "/img/a.jpg v2")
}

func TestPurgeByTagFromOriginHeaders(t *testing.T) {
	var v atomic.Int64
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		switch r.URL.Path {
		case "/p1":
			w.Header().Set("Surrogate-Key", "product-1 catalog")
		case "/p2":
			w.Header().Set("Cache-Tag", "product-2,catalog")
		}
		fmt.Fprintf(w, "%s v%d", r.URL.Path, v.Load())
	}, harnessOpt{})
	for _, p := range []string{"/p1", "/p2", "/p3"} {
		r := hs.get(p)
		if r.Header.Get("Surrogate-Key") != "" || r.Header.Get("Cache-Tag") != "" {
			t.Fatal("purge tags leaked to the client")
		}
	}
	v.Add(1)
	hs.purge(t, purge.Purge{Kind: purge.Tag, Targets: []string{"product-1"}})
	expect(t, hs.get("/p1"), 200, "/p1 v1")
	expect(t, hs.get("/p2"), 200, "/p2 v0", "hit")
	v.Add(1)
	hs.purge(t, purge.Purge{Kind: purge.Tag, Targets: []string{"catalog"}, Domain: "example.com"})
	expect(t, hs.get("/p1"), 200, "/p1 v2")
	expect(t, hs.get("/p2"), 200, "/p2 v2")
	expect(t, hs.get("/p3"), 200, "/p3 v0", "hit")
}

func TestSoftVersusHardPurgeWithOriginDown(t *testing.T) {
	var v atomic.Int64
	hs := newHarness(t, versioned(&v, "Cache-Control: max-age=600"), harnessOpt{})
	hs.get("/soft")
	hs.get("/hard")
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"example.com/soft"}, Soft: true})
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"example.com/hard"}})
	hs.origin.srv.Close()
	expect(t, hs.get("/soft"), 200, "/soft v0", "fwd=stale", "detail=origin-error")
	expect(t, hs.get("/hard"), http.StatusBadGateway, "")
}

func TestSoftPurgeRevalidates(t *testing.T) {
	var v atomic.Int64
	hs := newHarness(t, versioned(&v, "Cache-Control: max-age=600"), harnessOpt{})
	hs.get("/s")
	hs.purge(t, purge.Purge{Kind: purge.Prefix, Targets: []string{"example.com/"}, Soft: true})
	expect(t, hs.get("/s"), 200, "/s v0", "fwd=stale", "fwd-status=304")
	expect(t, hs.get("/s"), 200, "/s v0", "hit")
	if hs.origin.hits.Load() != 2 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
}

func TestPurgeSurvivesRestartAndSparesNewObjects(t *testing.T) {
	var v atomic.Int64
	opt := harnessOpt{diskDir: t.TempDir()}
	hs := newHarness(t, versioned(&v, "Cache-Control: max-age=600"), opt)
	hs.get("/a")
	hs.get("/b")
	hs.purge(t, purge.Purge{Kind: purge.Prefix, Targets: []string{"example.com/a"}})
	hs.clock.Advance(time.Second)
	hs.stop()
	v.Add(1)
	hs.start(opt)
	expect(t, hs.get("/a"), 200, "/a v1", "fwd=miss")
	expect(t, hs.get("/a"), 200, "/a v1", "hit") // fetched after the ban: not banned
	expect(t, hs.get("/b"), 200, "/b v0", "hit")
}

func TestPurgeRejectsBadRequests(t *testing.T) {
	hs := newHarness(t, static("x"), harnessOpt{})
	for _, req := range []purge.Purge{
		{Kind: purge.URL},
		{Kind: "everything", Targets: []string{"x"}},
		{Kind: purge.URL, Targets: []string{"unknown.test/a"}},
		{Kind: purge.Domain, Targets: []string{"unknown.test"}},
		{Kind: purge.Tag, Targets: []string{"two words"}},
	} {
		if _, err := hs.edge.Purge(req); !errors.Is(err, purge.ErrBad) {
			t.Errorf("%+v: err %v", req, err)
		}
	}
}

func TestPrefetchWarmsTheCache(t *testing.T) {
	hs := newHarness(t, static("warm", "Cache-Control: max-age=600"), harnessOpt{})
	res := hs.edge.Prefetch(t.Context(), "https://example.com/warm.css")
	if res.Err != nil || res.Status != 200 || res.Bytes != 4 || !strings.Contains(res.CacheStatus, "stored") {
		t.Fatalf("%+v", res)
	}
	expect(t, hs.get("/warm.css"), 200, "warm", "hit")
	if res := hs.edge.Prefetch(t.Context(), "nope.test/x"); res.Err == nil || res.Status != 421 {
		t.Fatalf("unknown host: %+v", res)
	}
}
