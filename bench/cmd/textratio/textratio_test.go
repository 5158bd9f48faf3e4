package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMeasure: repetitive text compresses well under every coding, each round-trips, and the
// timing loop ran at least once with a positive cost.
func TestMeasure(t *testing.T) {
	body := bytes.Repeat([]byte(".card { margin: 0 auto; padding: 1rem; color: #333; }\n"), 100)
	for _, c := range codings {
		r, err := measure(input{"a.css", body}, c, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.out <= 0 || r.out*5 > r.in {
			t.Errorf("%s: %d -> %d bytes, want a ratio above 5", c, r.in, r.out)
		}
		if r.iterations < 1 || r.wallMsPerMB <= 0 {
			t.Errorf("%s: %d iterations, %.3f wall ms/MB", c, r.iterations, r.wallMsPerMB)
		}
	}
}

func TestRoundTripDetectsDifference(t *testing.T) {
	var buf bytes.Buffer
	if err := roundTrip("gzip", buf.Bytes(), []byte("x")); err == nil {
		t.Error("an empty gzip stream passed as a round trip")
	}
	if err := roundTrip("lzma", nil, nil); err == nil {
		t.Error("unknown coding accepted")
	}
}

func TestRunOnDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.js"), bytes.Repeat([]byte("function f(a) { return a + 1; }\n"), 60), 0o644)
	os.WriteFile(filepath.Join(dir, "b.css"), bytes.Repeat([]byte("body { color: red }\n"), 80), 0o644)
	var out strings.Builder
	if err := run([]string{"-dir", dir, "-min-time", "1ms"}, &out); err != nil {
		t.Fatal(err)
	}
	// A header, a separator and 3 inputs (2 files + concatenation) x 3 codings.
	if n := strings.Count(out.String(), "\n"); n != 2+9 {
		t.Errorf("%d lines:\n%s", n, out.String())
	}
	for _, want := range []string{"| a.js | br |", "| b.css | gzip |", "| all concatenated | zstd | 3520 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	if err := run([]string{"-dir", t.TempDir()}, &out); err == nil {
		t.Error("empty directory accepted")
	}
}
