package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Outcome
	}{
		{"pixcdn; hit; ttl=3599", Hit},
		{"pixcdn; hit", Hit},
		{"pixcdn; fwd=uri-miss; fwd-status=200; stored; ttl=3599", Miss},
		{"pixcdn; fwd=miss; detail=uncacheable", Miss},
		{"pixcdn; fwd=vary-miss; fwd-status=200", Other},
		{"pixcdn; fwd=stale; fwd-status=304; ttl=600", Other},
		{"pixcdn; fwd=bypass", Other},
		{"", Other},
		{"pixcdn; hitch", Other},
	} {
		if got := Classify(tc.in); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSampleIndices(t *testing.T) {
	a := SampleIndices(1000, 100, 7)
	if len(a) != 100 {
		t.Fatalf("len %d", len(a))
	}
	s := slices.Clone(a)
	slices.Sort(s)
	if len(slices.Compact(s)) != 100 || s[0] < 0 || s[99] >= 1000 {
		t.Fatalf("not 100 distinct indices of [0, 1000): %v", s)
	}
	if !slices.Equal(a, SampleIndices(1000, 100, 7)) {
		t.Fatal("same seed, different sample")
	}
	if len(SampleIndices(5, 100, 1)) != 5 {
		t.Fatal("k above n not capped")
	}
}

// fakeEdge answers like a cache in front of an origin: the first GET of a path is a miss, later
// ones hit, and POST /purge forgets a URL or every path under a prefix. lag makes a purge show
// only after that many further requests for the path, so the tests can see a slow purge.
type fakeEdge struct {
	mu     sync.Mutex
	cached map[string]bool
	lag    int
	stale  map[string]int
	tokens []string
}

func newFakeEdge(t *testing.T, lag int) (*fakeEdge, *Client) {
	f := &fakeEdge{cached: map[string]bool{}, stale: map[string]int{}, lag: lag}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := &Client{Base: srv.URL, Admin: srv.URL, Token: "tok"}
	if err := c.init(4); err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPost {
		var req struct {
			Kind    string
			Targets []string
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.tokens = append(f.tokens, r.Header.Get("Authorization"))
		for _, tg := range req.Targets {
			p := tg[strings.Index(tg, "/"):]
			for k := range f.cached {
				if k == p || (req.Kind == "prefix" && strings.HasPrefix(k, p)) {
					f.stale[k] = f.lag
				}
			}
		}
		w.Write([]byte("{}"))
		return
	}
	p := r.URL.Path
	switch n, banned := f.stale[p]; {
	case banned && n == 0:
		delete(f.stale, p)
		w.Header().Set("Cache-Status", "fake; fwd=uri-miss; stored")
	case banned:
		f.stale[p] = n - 1
		w.Header().Set("Cache-Status", "fake; hit")
	case f.cached[p]:
		w.Header().Set("Cache-Status", "fake; hit")
	default:
		f.cached[p] = true
		w.Header().Set("Cache-Status", "fake; fwd=uri-miss; stored")
	}
	w.Write([]byte("body"))
}

func result(t *testing.T, out *bytes.Buffer) map[string]string {
	t.Helper()
	line, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "RESULT ")
	if !ok {
		t.Fatalf("no RESULT line: %q", out.String())
	}
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func TestPurgeURL(t *testing.T) {
	for _, tc := range []struct {
		lag          int
		wantNotFirst string
	}{{0, "0"}, {2, "5"}} {
		f, c := newFakeEdge(t, tc.lag)
		var out bytes.Buffer
		if err := runPurgeURL(&out, c, "/gen/u/1", 5); err != nil {
			t.Fatal(err)
		}
		if got := result(t, &out)["first_not_miss"]; got != tc.wantNotFirst {
			t.Errorf("lag %d: first_not_miss=%s, want %s", tc.lag, got, tc.wantNotFirst)
		}
		if len(f.tokens) != 5 || f.tokens[0] != "Bearer tok" {
			t.Errorf("purges sent %v", f.tokens)
		}
	}
}

func TestFillPurgePrefixSample(t *testing.T) {
	_, c := newFakeEdge(t, 0)
	var out bytes.Buffer
	if err := runFill(&out, c, "/p/", 1200, 4); err != nil {
		t.Fatal(err)
	}
	if m := result(t, &out); m["misses"] != "1200" || m["errors"] != "0" {
		t.Fatalf("fill: %v", m)
	}
	if err := runFill(new(bytes.Buffer), c, "/q/", 50, 4); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runPurgePrefix(&out, c, "/p/", 1200, 0); err != nil {
		t.Fatal(err)
	}
	if m := result(t, &out); m["probes"] != "1" || m["first"] != "miss" {
		t.Fatalf("purge-prefix: %v", m)
	}
	for _, tc := range []struct{ prefix, want, violations string }{
		{"/p/", "miss", "0"},
		{"/p/", "miss", "100"}, // the same sample again: refilled by the first, all hit now
		{"/q/", "hit", "0"},
		{"/q/", "miss", "50"},
	} {
		out.Reset()
		n := map[string]int{"/p/": 200, "/q/": 50}[tc.prefix]
		if err := runSample(&out, c, tc.prefix, n, 100, 4, tc.want, 3); err != nil {
			t.Fatal(err)
		}
		if got := result(t, &out)["violations"]; got != tc.violations {
			t.Errorf("sample %s want %s: violations %s, expected %s", tc.prefix, tc.want, got, tc.violations)
		}
	}
}

func TestRunRejects(t *testing.T) {
	for _, args := range [][]string{nil, {"nope", "-url", "http://x"}, {"fill", "-url", ":bad"}, {"sample", "-url", "http://127.0.0.1:1", "-want", "maybe"}} {
		if err := run(args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
