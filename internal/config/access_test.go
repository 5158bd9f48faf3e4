package config

import (
	"strings"
	"testing"
)

func TestAccessValidation(t *testing.T) {
	doc := `domains:
  - name: a.example
    origin: {root: testdata/site}
    access:
      sign: {type: Z, keys: [short], ttl: 1m}
      referer: {mode: maybe, patterns: [a.example]}
      ip: {mode: deny, cidrs: [300.1.2.3/8]}
      rate_limits:
        - {name: x, key: cookie, requests: 1, interval: 1s}
server:
  trusted_proxies: [not-an-ip]
`
	_, err := Parse([]byte(doc), "t.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"t.yaml:5: domains[0].access.sign:",
		"t.yaml:6: domains[0].access.referer:",
		"t.yaml:7: domains[0].access.ip:",
		"t.yaml:9: domains[0].access.rate_limits[0]:",
		"t.yaml:11: server.trusted_proxies:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	ok := `domains:
  - name: a.example
    origin: {root: testdata/site}
    access:
      sign: {type: A, keys: ["0123456789abcdef"], ttl: 30m}
      user_agent: {mode: deny, patterns: ["*bot*"], allow_empty: true}
      rate_limits:
        - {name: per-ip, key: ip, requests: 10, interval: 1s, burst: 20, block: 10s}
`
	if _, err := Parse([]byte(ok), "t.yaml"); err != nil {
		t.Fatal(err)
	}
}
