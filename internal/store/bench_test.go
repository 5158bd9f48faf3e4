package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMemoryHitDoesNotAllocate(t *testing.T) {
	c := mustOpen(t, testConfig(t))
	defer c.Close()
	if err := c.Put("k", []byte("meta"), make([]byte, 4000)); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		o, ok := c.Get("k")
		if !ok {
			t.Fatal("miss")
		}
		o.Release()
	})
	if allocs > 0 {
		t.Fatalf("memory hit: %v allocations, want 0", allocs)
	}
}

func BenchmarkGetMemoryHit(b *testing.B) {
	cfg := testConfig(b)
	cfg.MemoryBytes = 64 << 20 // all 1000 objects fit
	c := mustOpen(b, cfg)
	defer c.Close()
	for i := range 1000 {
		c.Put(fmt.Sprintf("k%d", i), make([]byte, 200), make([]byte, 4000))
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			o, ok := c.Get(keys[i%len(keys)])
			if !ok {
				b.Fatal("miss")
			}
			o.Release()
			i++
		}
	})
	if s := c.Stats(); s.DiskHits+s.Misses != 0 {
		b.Fatalf("not all memory hits: %+v", s)
	}
}

func BenchmarkGetDiskHitSmall(b *testing.B) {
	cfg := testConfig(b)
	cfg.MemoryBytes = -1 // every Get reads and verifies the record
	c := mustOpen(b, cfg)
	defer c.Close()
	const n = 1000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
		c.Put(keys[i], make([]byte, 100), make([]byte, 1024))
	}
	b.ReportAllocs()
	b.SetBytes(1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o, ok := c.Get(keys[i%n])
		if !ok {
			b.Fatal("miss")
		}
		o.Release()
	}
}

func BenchmarkPutSmall(b *testing.B) {
	cfg := testConfig(b)
	cfg.DiskBytes, cfg.SegmentBytes = 1<<30, 64<<20
	c := mustOpen(b, cfg)
	defer c.Close()
	meta, body := make([]byte, 100), make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		if err := c.Put(fmt.Sprintf("k%d", i%100000), meta, body); err != nil {
			b.Fatal(err)
		}
	}
}

// fillForRebuild writes n objects (1 KiB bodies, 100-byte metas) with the memory tier off
// and closes the cache, leaving a directory to reopen.
func fillForRebuild(tb testing.TB, n int) Config {
	cfg := testConfig(tb)
	cfg.MemoryBytes = -1
	cfg.DiskBytes, cfg.SegmentBytes = 64<<30, 64<<20
	c := mustOpen(tb, cfg)
	meta, body := make([]byte, 100), make([]byte, 1024)
	for i := range n {
		if err := c.Put(fmt.Sprintf("https://img.example.com/photos/%09d.jpg", i), meta, body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func timeOpen(tb testing.TB, cfg Config, want int) time.Duration {
	start := time.Now()
	c := mustOpen(tb, cfg)
	d := time.Since(start)
	defer c.Close()
	if got := c.Stats().DiskObjects; got != int64(want) {
		tb.Fatalf("rebuilt %d objects, want %d", got, want)
	}
	return d
}

func BenchmarkRebuildHints(b *testing.B) {
	const n = 100_000
	cfg := fillForRebuild(b, n)
	b.ReportAllocs()
	for b.Loop() {
		timeOpen(b, cfg, n)
	}
}

func BenchmarkRebuildScan(b *testing.B) {
	const n = 100_000
	cfg := fillForRebuild(b, n)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		removeHintFiles(b, cfg.Dir)
		b.StartTimer()
		timeOpen(b, cfg, n)
	}
}

func removeHintFiles(tb testing.TB, dir string) {
	hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
	for _, h := range hints {
		if err := os.Remove(h); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestRebuildMillion measures the restart of a cache of one million small objects, from
// hints and by a full scan. It writes about 1.2 GB, so it runs only when asked
// (PIXCDN_BENCH_REBUILD_N=N writes N objects instead, for a quick check of the harness):
//
//	PIXCDN_BENCH_REBUILD=1 go test -run TestRebuildMillion -v ./internal/store/
func TestRebuildMillion(t *testing.T) {
	if os.Getenv("PIXCDN_BENCH_REBUILD") != "1" {
		t.Skip("set PIXCDN_BENCH_REBUILD=1")
	}
	n := 1_000_000
	if v := os.Getenv("PIXCDN_BENCH_REBUILD_N"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
			t.Fatalf("PIXCDN_BENCH_REBUILD_N=%q: want a positive number", v)
		}
	}
	start := time.Now()
	cfg := fillForRebuild(t, n)
	t.Logf("wrote %d objects in %v (%d MB on disk)", n, time.Since(start), dirBytes(t, cfg.Dir)>>20)
	t.Logf("Open with hints:       %v", timeOpen(t, cfg, n))
	removeHintFiles(t, cfg.Dir)
	t.Logf("Open by full scan:     %v (writes the hints again)", timeOpen(t, cfg, n))
	t.Logf("Open with hints again: %v", timeOpen(t, cfg, n))
}
