package router

import (
	"strings"
	"testing"
)

// TestNodeURL checks the one-pass expansion against strings.Replacer, which it replaced.
func TestNodeURL(t *testing.T) {
	r := &Router{zone: "cdn.pixcdn.test.", cfg: Config{HTTPScheme: "https"}}
	for _, tmpl := range []string{"", "http://{node}.{domain}.{zone}:8080", "http://203.0.113.10", "http://{zone}/{node}/{{domain}}/{x}", "http://{node"} {
		n := &tnode{Node: Node{Name: "fra-1", URL: tmpl}}
		want := tmpl
		if want == "" {
			want = "https://{node}.{domain}.{zone}"
		}
		want = strings.NewReplacer("{node}", "fra-1", "{domain}", "img.example.com", "{zone}", "cdn.pixcdn.test").Replace(want) + "/a.jpg?w=300"
		if got := r.nodeURL(n, "img.example.com", "/a.jpg?w=300"); got != want {
			t.Errorf("%q: %q, want %q", tmpl, got, want)
		}
	}
}
