package edge

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRestartKeepsCache(t *testing.T) {
	opt := harnessOpt{diskDir: t.TempDir()}
	hs := newHarness(t, static("persistent body", "Cache-Control: max-age=3600"), opt)
	expect(t, hs.get("/p.txt"), 200, "persistent body", "stored")
	hs.stop()
	hs.start(opt)
	r := hs.get("/p.txt")
	expect(t, r, 200, "persistent body", "hit")
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d after restart, want 1", hs.origin.hits.Load())
	}
}

func TestCorruptRecordNeverServed(t *testing.T) {
	opt := harnessOpt{diskDir: t.TempDir()}
	good := strings.Repeat("GOODBYTES-", 200)
	hs := newHarness(t, static(good, "Cache-Control: max-age=3600"), opt)
	expect(t, hs.get("/c.txt"), 200, good, "stored")
	hs.stop()
	flipped := 0
	files, _ := filepath.Glob(filepath.Join(opt.diskDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if i := bytes.Index(b, []byte("GOODBYTES-GOOD")); i >= 0 {
			b[i+500] ^= 0xff
			os.WriteFile(f, b, 0o644)
			flipped++
		}
	}
	if flipped == 0 {
		t.Fatalf("no segment holds the body; files: %v", files)
	}
	hs.start(opt)
	r := hs.get("/c.txt")
	expect(t, r, 200, good, "fwd=uri-miss") // dropped and refetched, never the corrupt bytes
	if hs.origin.hits.Load() != 2 {
		t.Fatalf("origin hits %d, want 2", hs.origin.hits.Load())
	}
}

// largeBody is deterministic, incompressible-looking content of n bytes.
func largeBody(n int) []byte {
	b := make([]byte, 0, n+32)
	for i := 0; len(b) < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		b = append(b, sum[:]...)
	}
	return b[:n]
}

func TestLargeObjectStreamsAndCoalesces(t *testing.T) {
	body := largeBody(3 << 20)
	release := make(chan struct{})
	opt := harnessOpt{diskDir: t.TempDir(), cacheYAML: "  memory_object_max: 64KiB\n"}
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:1<<20])
		w.(http.Flusher).Flush()
		<-release // the rest comes later: clients must already be streaming
		w.Write(body[1<<20:])
	}, opt)
	var wg sync.WaitGroup
	results := make([]result, 8)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = hs.get("/big.bin") }()
	}
	waitFor(t, "waiters", func() bool { return hs.edge.cache.Stats.Coalesced.Load() == 7 })
	close(release)
	wg.Wait()
	for _, r := range results {
		if r.StatusCode != 200 || r.err != nil || r.body != string(body) {
			t.Fatalf("status %d err %v len %d", r.StatusCode, r.err, len(r.body))
		}
	}
	r := hs.get("/big.bin", "Range: bytes=2097152-2097161")
	expect(t, r, 206, string(body[2<<20:2<<20+10]), "hit")
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
	hs.stop()
	hs.start(opt)
	r = hs.get("/big.bin")
	if !strings.Contains(r.cacheStatus(), "hit") || r.body != string(body) {
		t.Fatalf("after restart: %s len %d", r.cacheStatus(), len(r.body))
	}
}

func TestLargeObjectCutMidwayNotStored(t *testing.T) {
	opt := harnessOpt{diskDir: t.TempDir(), cacheYAML: "  memory_object_max: 64KiB\n"}
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		brokenBody(w, 1<<20, strings.Repeat("z", 200<<10))
	}, opt)
	r := hs.try(http.MethodGet, "/cut.bin", nil)
	if r.err == nil {
		t.Fatalf("client got a complete-looking response: %d, %d bytes", r.StatusCode, len(r.body))
	}
	hs.origin.handle(static("whole", "Cache-Control: max-age=60"))
	expect(t, hs.get("/cut.bin"), 200, "whole", "uri-miss")
}
