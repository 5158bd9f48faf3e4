package config

import (
	"testing"
	"time"
)

const lookupDoc = `domains:
  - name: example.com
    aliases: [www.example.com, "*.cdn.example.com"]
    origin: {root: testdata/site}
  - name: "*.example.com"
    origin: {root: testdata/site}
  - name: exact.cdn.example.com
    origin: {root: testdata/site}
  - name: localhost
    origin: {root: testdata/site}
  - name: 127.0.0.1
    origin: {root: testdata/site}
`

func TestDomainLookup(t *testing.T) {
	c := mustParse(t, lookupDoc)
	// The same answers from the index Parse builds and from the scan of a Config built in Go.
	scan := *c
	scan.index = nil
	tests := []struct {
		host string
		want string // Name of the domain, "" for nil
	}{
		{"example.com", "example.com"},
		{"EXAMPLE.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"example.com.", "example.com"},
		{"Example.Com.:443", "example.com"},
		{"www.example.com", "example.com"},                 // alias
		{"img.example.com", "*.example.com"},               // wildcard
		{"IMG.Example.com:80", "*.example.com"},            // wildcard, case, port
		{"a.b.example.com", ""},                            // a wildcard matches one label only
		{"x.cdn.example.com", "example.com"},               // wildcard alias
		{"exact.cdn.example.com", "exact.cdn.example.com"}, // exact beats wildcard
		{"cdn.example.com", "*.example.com"},
		{"localhost:8080", "localhost"},
		{"127.0.0.1:8080", "127.0.0.1"},
		{"[::1]:8080", ""},
		{"other.org", ""},
		{".example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		for name, cfg := range map[string]*Config{"index": c, "scan": &scan} {
			got := ""
			if d := cfg.Domain(tt.host); d != nil {
				got = d.Name
			}
			if got != tt.want {
				t.Errorf("%s: Domain(%q) = %q, want %q", name, tt.host, got, tt.want)
			}
		}
	}
	if d := c.Domain("example.com"); d != &c.Domains[0] {
		t.Error("Domain should point into c.Domains, not at a copy")
	}
}

func TestRule(t *testing.T) {
	c := mustParse(t, `domains:
  - name: example.com
    origin: {root: testdata/site}
    cache:
      rules:
        - {extensions: [css, js], ttl: 1h}
        - {prefix: /static/, ttl: 24h}
        - {prefix: /static/, extensions: [.JS], ttl: 168h, priority: 2}
        - {prefix: /api/, bypass: true, priority: 1}
        - {prefix: /api/public/, ttl: 1m, priority: 1}
        - {extensions: [png], ttl: 2h, priority: 1}
`)
	d := &c.Domains[0]
	tests := []struct {
		path string
		want time.Duration // TTL of the winner; -1 for bypass, 0 for no rule
	}{
		{"/a.css", time.Hour},
		{"/a.CSS", time.Hour},
		{"/static/a.css", time.Hour}, // rules 0 and 1 tie at priority 0: the earlier wins
		{"/static/app.js", 168 * time.Hour},
		{"/static/logo.png", 2 * time.Hour}, // priority 1 beats the prefix rule at 0
		{"/static/", 24 * time.Hour},
		{"/api/users", -1},
		{"/api/public/x", -1}, // equal priority: the earlier rule (bypass) wins
		{"/index.html", 0},
		{"/dir.css/file", 0}, // the extension is the last segment's
		{"/", 0},
	}
	for _, tt := range tests {
		r := d.Rule(tt.path)
		var got time.Duration
		switch {
		case r == nil:
		case r.Bypass:
			got = -1
		default:
			got = r.TTL.D()
		}
		if got != tt.want {
			t.Errorf("Rule(%q) ttl = %v, want %v", tt.path, got, tt.want)
		}
	}
	if (&Domain{}).Rule("/x.css") != nil {
		t.Error("a domain without rules has no rule")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c := mustParse(t, lookupDoc+`    cache:
      rules:
        - {extensions: [css], ttl: 1h}
        - {prefix: /static/, ttl: 1h, priority: 1}
`)
	d := c.Domain("localhost")
	if n := testing.AllocsPerRun(100, func() {
		_ = c.Domain("img.example.com:8080")
		_ = d.Rule("/static/app.css")
	}); n != 0 {
		t.Errorf("Domain+Rule allocate %v times per call", n)
	}
}

func BenchmarkDomain(b *testing.B) {
	c := mustParse(b, lookupDoc)
	b.ReportAllocs()
	for b.Loop() {
		if c.Domain("img.example.com:8080") == nil {
			b.Fatal("no domain")
		}
	}
}

func BenchmarkRule(b *testing.B) {
	c := mustParse(b, `domains:
  - name: example.com
    origin: {root: testdata/site}
    cache:
      rules:
        - {extensions: [css, js, mjs, woff2], ttl: 1h}
        - {prefix: /static/, ttl: 24h}
        - {prefix: /api/, bypass: true, priority: 1}
        - {extensions: [png, jpg, jpeg, webp, avif, gif, svg], ttl: 2h, priority: 1}
`)
	d := &c.Domains[0]
	b.ReportAllocs()
	for b.Loop() {
		if d.Rule("/static/img/photo.webp") == nil {
			b.Fatal("no rule")
		}
	}
}
