package compress

import (
	"strconv"
	"strings"
	"testing"
)

func TestNegotiatorOffered(t *testing.T) {
	tests := []struct {
		offered []string
		ae      string
		want    string
	}{
		{[]string{Gzip, Brotli, Zstd}, "gzip, deflate, br, zstd", Brotli}, // order given does not matter
		{[]string{Gzip, Zstd}, "gzip, deflate, br, zstd", Zstd},
		{[]string{Gzip}, "br", Identity},
		{[]string{Gzip}, "gzip;q=0, *", Identity},
		{[]string{Brotli, Gzip}, "br;q=0.5, gzip", Gzip},
		{nil, "gzip", Identity},
		{[]string{Brotli}, "", Identity},
	}
	for _, tt := range tests {
		n := NewNegotiator(tt.offered)
		for range 2 { // the second answer comes from the memo
			if got := n.Choose(tt.ae); got != tt.want {
				t.Errorf("offered %v, Choose(%q) = %q, want %q", tt.offered, tt.ae, got, tt.want)
			}
		}
	}
}

func TestNegotiatorMemoBounded(t *testing.T) {
	n := NewNegotiator([]string{Brotli, Gzip})
	for i := range 3 * memoLimit {
		if got := n.Choose("gzip, x" + strconv.Itoa(i)); got != Gzip {
			t.Fatalf("got %q", got)
		}
	}
	count := 0
	count = len(*n.memo.Load())
	if count > memoLimit {
		t.Fatalf("memo holds %d values, limit %d", count, memoLimit)
	}
	if got := n.Choose("br, gzip, x-unseen"); got != Brotli { // past the limit: still right, parsed
		t.Fatalf("got %q", got)
	}
}

func TestMinifier(t *testing.T) {
	mf := NewMinifier([]string{"css", "js"})
	css := []byte("/* comment */\nbody {\n  color: #ff0000;\n  margin: 0px;\n}\n")
	if got := string(mf.Minify("text/css; charset=utf-8", css)); got != "body{color:red;margin:0}" {
		t.Errorf("css: %q", got)
	}
	js := []byte("// comment\nfunction add(first, second) {\n  return first + second;\n}\n")
	got := string(mf.Minify("application/javascript", js))
	if strings.Contains(got, "comment") || len(got) >= len(js) || !strings.Contains(got, "function add(") {
		t.Errorf("js: %q", got)
	}
	html := []byte("<html>  <body>  <p>hi</p>  </body></html>")
	if got := mf.Minify("text/html", html); string(got) != string(html) {
		t.Errorf("html minified though not enabled: %q", got)
	}
	if got := NewMinifier(nil).Minify("text/css", css); string(got) != string(css) {
		t.Errorf("nil minifier changed the body")
	}
	broken := []byte("function ( {")
	if got := mf.Minify("text/javascript", broken); string(got) != string(broken) {
		t.Errorf("broken js: %q", got)
	}
}
