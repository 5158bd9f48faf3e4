package edgeproc

import "testing"

func TestYAMLPlain(t *testing.T) {
	c := Config{Listen: "127.0.0.1:1001", Admin: "127.0.0.1:1002", CacheDir: "/tmp/c", MemorySize: "64MiB", Origin: "http://127.0.0.1:1003"}
	want := `listen: "127.0.0.1:1001"
admin:
  listen: "127.0.0.1:1002"
cache:
  dir: "/tmp/c"
  memory_size: 64MiB
domains:
  - name: "*"
    origin:
      servers:
        - url: "http://127.0.0.1:1003"
`
	if got := c.YAML(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestYAMLOps(t *testing.T) {
	off := false
	c := Config{Listen: "127.0.0.1:1", Admin: "127.0.0.1:2", AdminToken: "tok", CacheDir: "/c", Metrics: &off,
		Domain: "127.0.0.1", Origin: "http://o", Rules: []Rule{{"/gen/r/", "600s"}},
		DomainYAML: "    access:\n      rate_limits:\n        - {name: a, key: ip, requests: 1, interval: 1s}\n"}
	want := `listen: "127.0.0.1:1"
admin:
  listen: "127.0.0.1:2"
  token: "tok"
log:
  metrics: false
cache:
  dir: "/c"
domains:
  - name: "127.0.0.1"
    origin:
      servers:
        - url: "http://o"
    cache:
      rules:
        - prefix: /gen/r/
          ttl: 600s
    access:
      rate_limits:
        - {name: a, key: ip, requests: 1, interval: 1s}
`
	if got := c.YAML(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	c = Config{Listen: "l", Admin: "a", CacheDir: "/c", Origin: "o", AccessLog: "/tmp/access.log", AccessFormat: "json"}
	want = "listen: \"l\"\nadmin:\n  listen: \"a\"\nlog:\n  access_log: \"/tmp/access.log\"\n  access_format: json\ncache:\n  dir: \"/c\"\ndomains:\n  - name: \"*\"\n    origin:\n      servers:\n        - url: \"o\"\n"
	if got := c.YAML(); got != want {
		t.Errorf("access log:\n%s\nwant\n%s", got, want)
	}
}
