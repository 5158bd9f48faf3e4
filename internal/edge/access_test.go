package edge

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const signKey = "pixcdn-test-key-0001"

func TestSignedURLs(t *testing.T) {
	hs := newHarness(t, static("secret photo", "Cache-Control: max-age=3600"), harnessOpt{domainYAML: `    access:
      sign: {type: A, keys: ["` + signKey + `", "pixcdn-old-key-00002"], ttl: 30m}
`})
	v := hs.edge.Verifier("example.com")
	if v == nil {
		t.Fatal("no verifier for the domain")
	}
	sign := func(path, rand string) string {
		u, err := v.Sign("http://example.com"+path, hs.clock.Now(), rand, "0")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "http://example.com")
	}
	r := hs.get("/p.jpg")
	expect(t, r, http.StatusForbidden, "")
	if r.Header.Get("X-Pixcdn-Denied") != "signature-missing" {
		t.Fatalf("reason %q", r.Header.Get("X-Pixcdn-Denied"))
	}
	expect(t, hs.get(sign("/p.jpg?v=300", "1")), 200, "secret photo", "uri-miss")
	if q := hs.origin.lastRequest().URL.RawQuery; q != "v=300" {
		t.Fatalf("the origin saw the signature: %q", q)
	}
	expect(t, hs.get(sign("/p.jpg?v=300", "2")), 200, "secret photo", "hit") // signed differently, one object
	tampered := strings.Replace(sign("/p.jpg", "3"), "/p.jpg", "/q.jpg", 1)
	r = hs.get(tampered)
	expect(t, r, http.StatusForbidden, "")
	if r.Header.Get("X-Pixcdn-Denied") != "signature-mismatch" {
		t.Fatalf("tampered: %q", r.Header.Get("X-Pixcdn-Denied"))
	}
	old := sign("/p.jpg?w=300", "4")
	hs.clock.Advance(31 * time.Minute)
	r = hs.get(old)
	expect(t, r, http.StatusForbidden, "")
	if r.Header.Get("X-Pixcdn-Denied") != "signature-expired" {
		t.Fatalf("expired: %q", r.Header.Get("X-Pixcdn-Denied"))
	}
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
	// The operator's prefetch needs no signature; what it stores serves signed requests.
	if res := hs.edge.Prefetch(t.Context(), "example.com/warm.jpg"); res.Err != nil || !strings.Contains(res.CacheStatus, "stored") {
		t.Fatalf("prefetch on a signed domain: %+v", res)
	}
	expect(t, hs.get(sign("/warm.jpg", "5")), 200, "secret photo", "hit")
}

func TestRefererAndUserAgentRules(t *testing.T) {
	hs := newHarness(t, static("img", "Cache-Control: max-age=60"), harnessOpt{domainYAML: `    access:
      referer: {mode: allow, patterns: ["example.com", "*.example.com"], allow_empty: true}
      user_agent: {mode: deny, patterns: ["*badbot*"], allow_empty: true}
`})
	for _, tc := range []struct {
		header []string
		status int
		reason string
	}{
		{nil, 200, ""},
		{[]string{"Referer: https://www.example.com/page"}, 200, ""},
		{[]string{"Referer: http://example.com:8080/"}, 200, ""},
		{[]string{"Referer: https://evil.test/steal"}, 403, "referer"},
		{[]string{"Referer: https://example.com.evil.test/"}, 403, "referer"},
		{[]string{"User-Agent: Mozilla/5.0 BadBot/1.0"}, 403, "user-agent"},
		{[]string{"User-Agent: Mozilla/5.0"}, 200, ""},
	} {
		r := hs.get("/i.png", tc.header...)
		if r.StatusCode != tc.status || r.Header.Get("X-Pixcdn-Denied") != tc.reason {
			t.Errorf("%v: %d %q, want %d %q", tc.header, r.StatusCode, r.Header.Get("X-Pixcdn-Denied"), tc.status, tc.reason)
		}
	}
}

func TestIPListWithTrustedProxy(t *testing.T) {
	hs := newHarness(t, static("ok", "Cache-Control: max-age=60"), harnessOpt{
		serverYAML: "  trusted_proxies: [127.0.0.1/32]\n",
		domainYAML: "    access:\n      ip: {mode: deny, cidrs: [198.51.100.0/24, \"2001:db8::/32\"]}\n",
	})
	expect(t, hs.get("/x"), 200, "ok")
	r := hs.get("/x", "X-Forwarded-For: 198.51.100.7")
	expect(t, r, http.StatusForbidden, "")
	if r.Header.Get("X-Pixcdn-Denied") != "ip" {
		t.Fatal(r.Header)
	}
	expect(t, hs.get("/x", "X-Forwarded-For: 198.51.100.7, 203.0.113.5"), 200, "ok") // the client is the rightmost untrusted
	expect(t, hs.get("/x", "X-Forwarded-For: 2001:db8::1"), http.StatusForbidden, "")
}

func TestRateLimit(t *testing.T) {
	hs := newHarness(t, static("ok", "Cache-Control: max-age=60"), harnessOpt{domainYAML: `    access:
      rate_limits:
        - {name: per-ip, key: ip, requests: 2, interval: 1m, block: 30s}
        - {name: api, path_prefix: /api/, key: "header:X-Api-Key", requests: 1, interval: 1h}
`})
	expect(t, hs.get("/a"), 200, "ok")
	expect(t, hs.get("/a"), 200, "ok")
	r := hs.get("/a")
	expect(t, r, http.StatusTooManyRequests, "")
	if r.Header.Get("Retry-After") != "30" || r.Header.Get("X-Pixcdn-Denied") != "rate-limit" {
		t.Fatalf("429 headers: %v", r.Header)
	}
	hs.clock.Advance(31 * time.Second)
	expect(t, hs.get("/a"), 200, "ok")
	expect(t, hs.get("/api/v", "X-Api-Key: k1"), 200, "ok")
	expect(t, hs.get("/api/v", "X-Api-Key: k1"), http.StatusTooManyRequests, "")
	expect(t, hs.get("/api/v", "X-Api-Key: k2"), 200, "ok") // another key, its own budget
}
