package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/admin/admintest"
)

func TestPrefetchFromArgsFileAndStdin(t *testing.T) {
	e := &admintest.Edge{}
	base := startAdmin(t, testToken, e)
	list := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(list, []byte("# warm the front page\nhttps://img.example.com/a.jpg\n\n   \n  https://img.example.com/b.jpg  \n#https://img.example.com/skipped.jpg\n"), 0o644)
	env := map[string]string{envAdmin: base, envAdminToken: testToken}
	for _, tc := range []struct {
		name, stdin string
		args, want  []string
	}{
		{"args", "", []string{"https://img.example.com/x.jpg"}, []string{"https://img.example.com/x.jpg"}},
		{"file", "", []string{"-f", list, "https://img.example.com/x.jpg"},
			[]string{"https://img.example.com/a.jpg", "https://img.example.com/b.jpg", "https://img.example.com/x.jpg"}},
		{"stdin", "https://img.example.com/s1.jpg\n# c\n\nhttps://img.example.com/s2.jpg", []string{"-f", "-"},
			[]string{"https://img.example.com/s1.jpg", "https://img.example.com/s2.jpg"}},
	} {
		before := len(e.Prefetched())
		cio, out, errb := testIO(tc.stdin, env)
		if code := prefetchCommand(context.Background(), tc.args, cio); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errb)
		}
		got := e.Prefetched()[before:]
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: prefetched %q, want %q", tc.name, got, tc.want)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		summary := fmt.Sprintf("prefetched %d of %d URLs, 0 failed,", len(tc.want), len(tc.want))
		if len(lines) != len(tc.want)+1 || !strings.HasPrefix(lines[len(lines)-1], summary) {
			t.Errorf("%s: output %q", tc.name, out)
		}
		for _, l := range lines[:len(lines)-1] {
			if !strings.HasPrefix(l, "ok   200 miss; stored") || strings.Contains(l, "\r") {
				t.Errorf("%s: line %q", tc.name, l)
			}
		}
	}
}

func TestPrefetchFailuresExitOne(t *testing.T) {
	base := startAdmin(t, "", &admintest.Edge{})
	cio, out, errb := testIO("", map[string]string{envAdmin: base})
	code := prefetchCommand(context.Background(), []string{"https://img.example.com/missing/a.jpg", "https://img.example.com/b.jpg"}, cio)
	if code != 1 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb)
	}
	if !strings.Contains(out.String(), "FAIL 404 https://img.example.com/missing/a.jpg: origin answered 404\n") ||
		!strings.Contains(out.String(), "prefetched 1 of 2 URLs, 1 failed, 29 B in ") {
		t.Errorf("output %q", out)
	}
}

func TestPrefetchErrors(t *testing.T) {
	base := startAdmin(t, testToken, &admintest.Edge{})
	// A node that stops answering after the first URL.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"url":"https://img.example.com/a.jpg","status":200}` + "\n"))
	}))
	t.Cleanup(cut.Close)
	dead := closedAddr(t)
	urls := []string{"https://img.example.com/a.jpg", "https://img.example.com/b.jpg"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no URLs", []string{"-admin", base}, 2, "no URLs to prefetch"},
		{"no address", urls, 2, "pass -admin URL (or -control URL for every node) or set PIXCDN_ADMIN"},
		{"missing file", []string{"-admin", base, "-f", "/nonexistent/urls.txt"}, 1, "no such file"},
		{"wrong token", append([]string{"-admin", base, "-token", "nope"}, urls...), 1, "the admin API refused the token"},
		{"refused connection", append([]string{"-admin", dead}, urls...), 1, "cannot reach the admin API at " + dead},
		{"cut stream", append([]string{"-admin", cut.URL}, urls...), 1, "ended after 1 of 2 results: unexpected EOF"},
	} {
		cio, _, errb := testIO("", nil)
		if code := prefetchCommand(context.Background(), tc.args, cio); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d %q, want %d with %q", tc.name, code, errb, tc.code, tc.want)
		}
	}
}

// TestPrefetchBatches: a list longer than one request is sent in several, reported as one.
func TestPrefetchBatches(t *testing.T) {
	e := &admintest.Edge{}
	base := startAdmin(t, "", e)
	var in strings.Builder
	n := prefetchBatch + 3
	for i := range n {
		fmt.Fprintf(&in, "https://img.example.com/%d.jpg\n", i)
	}
	cio, out, errb := testIO(in.String(), map[string]string{envAdmin: base})
	if code := prefetchCommand(context.Background(), []string{"-f", "-"}, cio); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if len(e.Prefetched()) != n || !strings.Contains(out.String(), fmt.Sprintf("prefetched %d of %d URLs, 0 failed", n, n)) {
		t.Errorf("%d prefetched; tail %q", len(e.Prefetched()), out.String()[out.Len()-100:])
	}
}

// TestProgressBar draws the terminal form: failures above the bar, redraws throttled, a summary.
func TestProgressBar(t *testing.T) {
	cio, out, _ := testIO("", nil)
	p := newProgress(cio, 4)
	p.tty = true
	p.result(admin.PrefetchResult{URL: "u1", Status: 200, Bytes: 1024})
	p.result(admin.PrefetchResult{URL: "u2", Status: 502, Error: "origin answered 502"})
	p.result(admin.PrefetchResult{URL: "u3", Status: 200, Bytes: 1024})
	p.result(admin.PrefetchResult{URL: "u4", Status: 200, Bytes: 1024})
	p.finish()
	want := "\r[#######-----------------------] 1/4  0 failed  20.0/s\x1b[K" +
		"\r\x1b[KFAIL 502 u2: origin answered 502\n" +
		"\r[###############---------------] 2/4  1 failed  20.0/s\x1b[K" +
		"\r[##############################] 4/4  1 failed  20.0/s\x1b[K" +
		"\r[##############################] 4/4  1 failed  16.0/s\x1b[K\n" +
		"prefetched 3 of 4 URLs, 1 failed, 3.0 KiB in 250ms (16.0/s)\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&strings.Builder{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil { // absent without a controlling terminal
		defer tty.Close()
		if !isTerminal(tty) {
			t.Error("/dev/tty not taken for a terminal")
		}
	}
}
