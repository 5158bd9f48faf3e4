package ratelimit

import (
	"strings"
	"testing"
	"time"
)

// keys is a KeySource for tests.
type keys struct {
	ip     string
	header map[string]string
	query  map[string]string
}

func (k *keys) ClientIP() string          { return k.ip }
func (k *keys) Header(name string) string { return k.header[name] }
func (k *keys) Query(name string) string  { return k.query[name] }

func ip(s string) *keys { return &keys{ip: s} }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newLimiter(t testing.TB, maxKeys int, rules ...Rule) *Limiter {
	t.Helper()
	l, err := New(Config{Rules: rules, MaxKeys: maxKeys, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// perSecond is n requests per second with burst b.
func perSecond(n, b int) Rule {
	return Rule{Name: "r", Key: "ip", Requests: n, Interval: time.Second, Burst: b}
}

func TestSteadyRateAllowed(t *testing.T) {
	l := newLimiter(t, 0, perSecond(10, 1))
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if ok, ra, _ := l.Allow("/", ip("a"), now); !ok {
			t.Fatalf("request %d at the exact rate refused, retry after %v", i, ra)
		}
	}
}

func TestBurstThenRefusalThenRefill(t *testing.T) {
	l := newLimiter(t, 0, perSecond(10, 5))
	k := ip("a")
	for i := range 5 {
		if ok, _, rule := l.Allow("/x", k, t0); !ok || rule != "r" {
			t.Fatalf("burst request %d: ok %v rule %q", i, ok, rule)
		}
	}
	ok, ra, rule := l.Allow("/x", k, t0)
	if ok || ra != 100*time.Millisecond || rule != "r" {
		t.Fatalf("6th at once: ok %v retryAfter %v rule %q; want refused, 100ms, r", ok, ra, rule)
	}
	if ok, ra, _ := l.Allow("/x", k, t0.Add(60*time.Millisecond)); ok || ra != 40*time.Millisecond {
		t.Fatalf("after 60ms: ok %v retryAfter %v; want refused, 40ms", ok, ra)
	}
	if ok, _, _ := l.Allow("/x", k, t0.Add(100*time.Millisecond)); !ok {
		t.Fatal("one token refilled after 100ms, refused")
	}
	// A full refill after Burst/Requests seconds gives a whole burst again, not more.
	later := t0.Add(10 * time.Second)
	for i := range 5 {
		if ok, _, _ := l.Allow("/x", k, later); !ok {
			t.Fatalf("refilled burst request %d refused", i)
		}
	}
	if ok, _, _ := l.Allow("/x", k, later); ok {
		t.Fatal("bucket refilled beyond Burst")
	}
}

func TestBlockHonoured(t *testing.T) {
	r := perSecond(1, 2)
	r.Block = 30 * time.Second
	l := newLimiter(t, 0, r)
	k := ip("a")
	l.Allow("/", k, t0)
	l.Allow("/", k, t0)
	if ok, ra, _ := l.Allow("/", k, t0); ok || ra != 30*time.Second {
		t.Fatalf("exceeding request: ok %v retryAfter %v; want refused for 30s", ok, ra)
	}
	// Refusals during the block count down and do not extend it, though tokens have refilled.
	for _, s := range []int{1, 5, 20, 29} {
		want := time.Duration(30-s) * time.Second
		if ok, ra, _ := l.Allow("/", k, t0.Add(time.Duration(s)*time.Second)); ok || ra != want {
			t.Fatalf("at +%ds: ok %v retryAfter %v; want refused, %v", s, ok, ra, want)
		}
	}
	end := t0.Add(30 * time.Second)
	for i := range 2 {
		if ok, ra, _ := l.Allow("/", k, end); !ok {
			t.Fatalf("request %d when the block ends refused, retry after %v", i, ra)
		}
	}
	if ok, ra, _ := l.Allow("/", k, end); ok || ra != 30*time.Second {
		t.Fatalf("exceeding again: ok %v retryAfter %v; want a new 30s block", ok, ra)
	}
}

func TestIndependentKeys(t *testing.T) {
	l := newLimiter(t, 0, perSecond(1, 1))
	if ok, _, _ := l.Allow("/", ip("a"), t0); !ok {
		t.Fatal("a refused")
	}
	if ok, _, _ := l.Allow("/", ip("a"), t0); ok {
		t.Fatal("a's second request allowed")
	}
	if ok, _, _ := l.Allow("/", ip("b"), t0); !ok {
		t.Fatal("b refused because of a")
	}
}

func TestRuleMatching(t *testing.T) {
	rules := []Rule{
		{Name: "all", Key: "ip", Requests: 1, Interval: time.Hour},
		{Name: "api", PathPrefix: "/api/", Key: "ip", Requests: 1, Interval: time.Hour},
		{Name: "api-key", PathPrefix: "/api/v2/", Key: "header:x-api-key", Requests: 1, Interval: time.Hour},
		{Name: "api-token", PathPrefix: "/api/v2/", Key: "query:token", Requests: 1, Interval: time.Hour},
		{Name: "img", PathPrefix: "/img", Key: "ip", Requests: 1, Interval: time.Hour},
	}
	tests := []struct {
		path string
		ks   *keys
		want string
	}{
		{"/", ip("1"), "all"},
		{"/apix", ip("1"), "all"},
		{"/api/x", ip("1"), "api"},
		{"/imgs/a.png", ip("1"), "img"}, // plain string prefix
		{"/api/v2/x", &keys{ip: "1", header: map[string]string{"X-Api-Key": "k"}}, "api-key"},
		{"/api/v2/x", &keys{ip: "1", header: map[string]string{"X-Api-Key": "k"}, query: map[string]string{"token": "t"}}, "api-key"},
		{"/api/v2/x", &keys{ip: "1", query: map[string]string{"token": "t"}}, "api-token"},
		{"/api/v2/x", ip("1"), "api"}, // no header, no token: falls back to the shorter prefix
		{"/api/v2/x", &keys{}, ""},    // no key for any rule: allowed, no rule
	}
	for _, tt := range tests {
		l := newLimiter(t, 0, rules...)
		ok, _, rule := l.Allow(tt.path, tt.ks, t0)
		if !ok || rule != tt.want {
			t.Errorf("Allow(%q, %+v) = %v, %q; want true, %q", tt.path, tt.ks, ok, rule, tt.want)
		}
		if tt.want == "" {
			continue
		}
		if ok, _, rule := l.Allow(tt.path, tt.ks, t0); ok || rule != tt.want {
			t.Errorf("second Allow(%q, %+v) = %v, %q; want refused by %q", tt.path, tt.ks, ok, rule, tt.want)
		}
	}
}

func TestHeaderAndQueryKeysAreKeys(t *testing.T) {
	l := newLimiter(t, 0,
		Rule{Name: "h", PathPrefix: "/h", Key: "header:X-Client", Requests: 1, Interval: time.Hour},
		Rule{Name: "q", PathPrefix: "/q", Key: "query:c", Requests: 1, Interval: time.Hour})
	h := func(v string) *keys { return &keys{ip: "same", header: map[string]string{"X-Client": v}} }
	q := func(v string) *keys { return &keys{ip: "same", query: map[string]string{"c": v}} }
	steps := []struct {
		path string
		ks   *keys
		want bool
	}{
		{"/h", h("a"), true}, {"/h", h("a"), false}, {"/h", h("b"), true},
		{"/q", q("a"), true}, {"/q", q("a"), false}, {"/q", q("b"), true},
	}
	for i, s := range steps {
		if ok, _, _ := l.Allow(s.path, s.ks, t0); ok != s.want {
			t.Errorf("step %d %s: ok %v, want %v", i, s.path, ok, s.want)
		}
	}
}

func TestSameKeyUnderTwoRulesIsTwoBuckets(t *testing.T) {
	l := newLimiter(t, 0,
		Rule{Name: "a", PathPrefix: "/a", Key: "ip", Requests: 1, Interval: time.Hour},
		Rule{Name: "b", PathPrefix: "/b", Key: "ip", Requests: 1, Interval: time.Hour})
	for _, p := range []string{"/a", "/b"} {
		if ok, _, _ := l.Allow(p, ip("x"), t0); !ok {
			t.Fatalf("%s refused: the other rule's bucket was charged", p)
		}
	}
}

func TestNoRulesAllowsEverything(t *testing.T) {
	l := newLimiter(t, 0)
	for range 100 {
		if ok, ra, rule := l.Allow("/", nil, t0); !ok || ra != 0 || rule != "" {
			t.Fatalf("got %v %v %q", ok, ra, rule)
		}
	}
}

func TestZeroTimeUsesClock(t *testing.T) {
	now := t0
	l, err := New(Config{Rules: []Rule{perSecond(1, 1)}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	l.Allow("/", ip("a"), time.Time{})
	if ok, ra, _ := l.Allow("/", ip("a"), time.Time{}); ok || ra != time.Second {
		t.Fatalf("second at the same clock: ok %v retryAfter %v", ok, ra)
	}
	now = now.Add(time.Second)
	if ok, _, _ := l.Allow("/", ip("a"), time.Time{}); !ok {
		t.Fatal("refused after the clock moved one interval")
	}
}

func TestValidate(t *testing.T) {
	good := Rule{Name: "r", Key: "ip", Requests: 10, Interval: time.Second}
	tests := []struct {
		name string
		edit func(*Rule)
		want string // substring of the error; "" = valid
	}{
		{"good", func(*Rule) {}, ""},
		{"header", func(r *Rule) { r.Key = "header:X-Api-Key" }, ""},
		{"query", func(r *Rule) { r.Key = "query:token" }, ""},
		{"prefix", func(r *Rule) { r.PathPrefix = "/api/" }, ""},
		{"no name", func(r *Rule) { r.Name = "" }, "name is empty"},
		{"relative prefix", func(r *Rule) { r.PathPrefix = "api" }, "must start with /"},
		{"unknown key", func(r *Rule) { r.Key = "cookie:a" }, "want \"ip\""},
		{"empty key", func(r *Rule) { r.Key = "" }, "want \"ip\""},
		{"empty header", func(r *Rule) { r.Key = "header:" }, "header name"},
		{"bad header", func(r *Rule) { r.Key = "header:a b" }, "header name"},
		{"empty query", func(r *Rule) { r.Key = "query:" }, "query parameter"},
		{"bad query", func(r *Rule) { r.Key = "query:a=b" }, "query parameter"},
		{"zero requests", func(r *Rule) { r.Requests = 0 }, "requests"},
		{"zero interval", func(r *Rule) { r.Interval = 0 }, "interval"},
		{"sub-ns", func(r *Rule) { r.Requests = 2; r.Interval = 1 }, "nanosecond"},
		{"negative burst", func(r *Rule) { r.Burst = -1 }, "burst"},
		{"huge burst", func(r *Rule) { r.Burst = 1 << 62 }, "overflows"},
		{"negative block", func(r *Rule) { r.Block = -1 }, "block"},
	}
	for _, tt := range tests {
		r := good
		tt.edit(&r)
		err := r.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	r := Rule{Name: "r", Key: "ip", Requests: 1, Interval: time.Second}
	if _, err := New(Config{Rules: []Rule{r, r}}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := New(Config{MaxKeys: 7}); err == nil || !strings.Contains(err.Error(), "MaxKeys") {
		t.Errorf("MaxKeys 7: %v", err)
	}
	bad := r
	bad.Requests = 0
	if _, err := New(Config{Rules: []Rule{bad}}); err == nil || !strings.Contains(err.Error(), `rule "r"`) {
		t.Errorf("bad rule: %v", err)
	}
	l, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Stats().Capacity; c > DefaultMaxKeys || c < DefaultMaxKeys-maxShards*ways {
		t.Errorf("default capacity %d, want just under %d", c, DefaultMaxKeys)
	}
}
