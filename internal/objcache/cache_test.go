package objcache

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/origin"
	"github.com/pixcdn/pixcdn/internal/store"
)

// fixture is a Cache over a memory store in front of a real HTTP origin that counts requests.
type fixture struct {
	t      *testing.T
	cache  *Cache
	policy *Policy
	origin *httptest.Server
	hits   atomic.Int64
	now    atomic.Pointer[time.Time]
}

func newFixture(t *testing.T, dir string, picker Picker, h http.HandlerFunc) *fixture {
	t.Helper()
	f := &fixture{t: t}
	start := time.Now().Truncate(time.Second)
	f.now.Store(&start)
	f.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		w.Header().Set("Date", f.clock().UTC().Format(http.TimeFormat))
		h(w, r)
	}))
	t.Cleanup(f.origin.Close)
	st, err := store.Open(store.Config{MemoryBytes: 16 << 20, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.cache, err = New(Config{Node: "n1", Dir: dir, MemoryTier: 16 << 20, Now: f.clock, Logger: quiet(), Picker: picker}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cache.Close() })
	o, err := origin.NewHTTP(origin.HTTPConfig{Servers: []origin.Server{{URL: f.origin.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	f.policy = &Policy{Name: "example.com", Keys: NewKeyer(KeyConfig{Name: "example.com", SortParams: true}), Origin: o,
		MaxErrorTTL: 10 * time.Second, StaleIfOriginDown: time.Hour}
	return f
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (f *fixture) clock() time.Time { return *f.now.Load() }

func (f *fixture) advance(d time.Duration) {
	t := f.clock().Add(d)
	f.now.Store(&t)
}

// get asks the cache for path and reads the answer's body.
func (f *fixture) get(path string) (Result, string) {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	res := f.cache.Get(f.policy, &Request{HTTP: r, Primary: f.policy.Keys.Key(r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)})
	defer res.Release()
	if res.Kind == Failed || res.Kind == Forward {
		return res, ""
	}
	body, err := readBody(&res.Body, 1<<20)
	if err != nil {
		f.t.Fatalf("%s: reading the %v body: %v", path, res.Kind, err)
	}
	return res, string(body)
}

func fixed(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, body)
	}
}

// peer is a test double of an Upstream: a node that answers with its own body, or fails.
type peer struct {
	name    string
	fail    bool
	fetches atomic.Int64
	body    string
	release chan struct{} // when set, answers wait for it to close
}

func (p *peer) Name() string { return p.name }

func (p *peer) Fetch(req *http.Request) (*http.Response, error) {
	p.fetches.Add(1)
	if p.release != nil {
		<-p.release
	}
	if p.fail {
		return nil, &origin.Error{Kind: origin.KindUnavailable, Server: p.name, Err: errors.New("connection refused")}
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "max-age=60")
	rec.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	io.WriteString(rec, p.body)
	return rec.Result(), nil
}

// pickerDouble records each question and names its peer for every key.
type pickerDouble struct {
	mu    sync.Mutex
	calls []string // domain + " " + primary
	up    Upstream
}

func (p *pickerDouble) Pick(domain, primary string, asOwner bool) (Upstream, bool) {
	p.mu.Lock()
	p.calls = append(p.calls, domain+" "+primary)
	p.mu.Unlock()
	return p.up, p.up != nil
}

func (p *pickerDouble) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// TestPickerSeam: a coalesced miss asks the Picker exactly once, with the primary key, inside
// the flight; what the picked upstream answers is stored and served like an origin's answer.
func TestPickerSeam(t *testing.T) {
	pe := &peer{name: "node-b", body: "from the owner", release: make(chan struct{})}
	pk := &pickerDouble{up: pe}
	f := newFixture(t, "", pk, fixed("from the origin"))
	const n = 50
	var wg sync.WaitGroup
	bodies := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := f.get("/a.jpg?b=2&a=1")
			bodies <- body
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.cache.Stats.Coalesced.Load() < n-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the waiters cannot tell us they wait; bounded above
	}
	close(pe.release)
	wg.Wait()
	close(bodies)
	for b := range bodies {
		if b != "from the owner" {
			t.Fatalf("a client got %q", b)
		}
	}
	if got := pk.asked(); len(got) != 1 || got[0] != "example.com example.com/a.jpg?a=1&b=2" {
		t.Fatalf("picker asked %q, want once for the primary key", got)
	}
	if pe.fetches.Load() != 1 || f.hits.Load() != 0 {
		t.Fatalf("peer fetches %d, origin hits %d", pe.fetches.Load(), f.hits.Load())
	}
	res, body := f.get("/a.jpg?a=1&b=2")
	if res.Kind != Hit || body != "from the owner" {
		t.Fatalf("after the fill: %v %q", res.Kind, body)
	}
	if len(pk.asked()) != 1 {
		t.Fatal("a hit asked the picker")
	}
}

// TestPickerFallsBackToTheOrigin: a picked upstream that fails is skipped for the origin, and
// a key the Picker does not claim goes to the origin directly.
func TestPickerFallsBackToTheOrigin(t *testing.T) {
	pe := &peer{name: "node-b", fail: true}
	pk := &pickerDouble{up: pe}
	f := newFixture(t, "", pk, fixed("from the origin"))
	if res, body := f.get("/x"); res.Kind != Fetched || body != "from the origin" || !res.Status.Stored {
		t.Fatalf("%v %q %+v", res.Kind, body, res.Status)
	}
	if pe.fetches.Load() != 1 || f.hits.Load() != 1 || f.cache.Stats.PeerErrors.Load() != 1 {
		t.Fatalf("peer %d, origin %d, peer errors %d", pe.fetches.Load(), f.hits.Load(), f.cache.Stats.PeerErrors.Load())
	}
	pk.up = nil
	if res, body := f.get("/y"); res.Kind != Fetched || body != "from the origin" {
		t.Fatalf("%v %q", res.Kind, body)
	}
	if f.hits.Load() != 2 || len(pk.asked()) != 2 {
		t.Fatalf("origin %d, picker asked %d", f.hits.Load(), len(pk.asked()))
	}
}

// TestResultKinds walks one URL through the outcomes of Get, one case each.
func TestResultKinds(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	f := newFixture(t, "", nil, func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "ok":
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			io.WriteString(w, "v1")
		case "down":
			http.Error(w, "down", http.StatusServiceUnavailable)
		case "private":
			w.Header().Set("Cache-Control", "private")
			io.WriteString(w, "mine")
		}
	})
	steps := []struct {
		mode    string
		advance time.Duration
		path    string
		kind    Kind
		body    string
	}{
		{"ok", 0, "/p", Fetched, "v1"},
		{"ok", 0, "/p", Hit, "v1"},
		{"ok", 20 * time.Second, "/p", NotModified, "v1"},
		{"down", 20 * time.Second, "/p", Stale, "v1"},
		{"private", 0, "/q", Uncacheable, "mine"},
		{"private", 0, "/q", Forward, ""},        // hit-for-pass
		{"down", 0, "/r", Uncacheable, "down\n"}, // a 503 without freshness is not stored
	}
	for i, s := range steps {
		mode.Store(s.mode)
		f.advance(s.advance)
		res, body := f.get(s.path)
		if res.Kind != s.kind || body != s.body {
			t.Fatalf("step %d (%s %s): %v %q, want %v %q", i, s.mode, s.path, res.Kind, body, s.kind, s.body)
		}
	}
	f.origin.Close() // no origin at all, no stale copy: Failed
	if res, _ := f.get("/new"); res.Kind != Failed || res.Err == nil {
		t.Fatalf("%v %v", res.Kind, res.Err)
	}
}

// TestServerErrorTTLIsCapped: a cacheable 500 stays fresh for MaxErrorTTL only.
func TestServerErrorTTLIsCapped(t *testing.T) {
	f := newFixture(t, "", nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.WriteHeader(500)
	})
	res, _ := f.get("/e")
	if res.Meta.TTL != 10*time.Second {
		t.Fatalf("ttl %v", res.Meta.TTL)
	}
	f.advance(11 * time.Second)
	f.get("/e") // the stale 500 may stand in for the new one; what matters is that the origin is asked
	if f.hits.Load() != 2 {
		t.Fatalf("origin hits %d: the 500 was served past the cap", f.hits.Load())
	}
}

func ExamplePickerFunc() {
	// A Picker that never picks: every miss goes to the domain's origin.
	none := PickerFunc(func(domain, primary string, asOwner bool) (Upstream, bool) { return nil, false })
	_, ok := none.Pick("example.com", "example.com/a.jpg", false)
	fmt.Println(ok)
	// Output: false
}
