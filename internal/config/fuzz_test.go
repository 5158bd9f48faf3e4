package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts validates again, and that what
// it rejects is reported only as *Error values.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		minimal, lookupDoc, "", "- a", "domains: [", "a: &a [*a]", "domains:\n  - <<: {name: x.com}\n",
		"cache: {memory_size: 1GiB, memory_object_max: 2GiB}\n" + minimal,
		`domains:
  - name: "*.example.com"
    aliases: [a.example.org]
    origin:
      servers: [{url: "http://a", priority: 1}, {url: "https://b:8443/p", weight: 2}]
      failover_statuses: [502]
    cache:
      status_ttl: {404: 10s}
      rules: [{prefix: /s/, extensions: [css], ttl: 1h}, {prefix: /api/, bypass: true}]
      query: {mode: drop, params: [utm_source], sort: false}
  - name: s3.example.org
    origin: {s3: {endpoint: "https://s3", bucket: b, access_key: "${HOME}", secret_key: x}}
`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("both a Config and an error")
			}
			for _, e := range flatten(err) {
				var ce *Error
				if !errors.As(e, &ce) || ce.File != "fuzz.yaml" && ce.File != "" {
					t.Fatalf("error %T %v is not an *Error of this file", e, e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
		for i := range c.Domains {
			d := &c.Domains[i]
			if got := c.Domain(d.Name); got == nil {
				t.Fatalf("Domain(%q) = nil for a configured name", d.Name)
			}
			_ = d.Rule("/a/b.css")
		}
	})
}
