package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
)

func dirBytes(t *testing.T, dir string) int64 {
	var n int64
	for _, p := range segFiles(t, dir, "seg-*.dat") {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestEvictionDeletesOldestSegments(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryBytes = -1
	cfg.DiskBytes, cfg.SegmentBytes = 4<<20, 1<<20
	c := mustOpen(t, cfg)
	defer c.Close()
	large := body("large", 600<<10)
	if err := c.Put("large", nil, large); err != nil {
		t.Fatal(err)
	}
	held, ok := c.Get("large") // held across its segment's eviction
	if !ok {
		t.Fatal("miss")
	}
	putN(t, c, "k", 1000, 10<<10) // ~10 MiB through a 4 MiB tier
	s := c.Stats()
	if s.DiskEvictions == 0 || s.DiskEvictedObjects == 0 {
		t.Fatalf("no eviction: %+v", s)
	}
	if s.DiskBytes > cfg.DiskBytes || dirBytes(t, cfg.Dir) != s.DiskBytes {
		t.Fatalf("DiskBytes %d (files %d), limit %d", s.DiskBytes, dirBytes(t, cfg.Dir), cfg.DiskBytes)
	}
	expectMiss(t, c, "large")
	expectMiss(t, c, "k0")
	expect(t, c, "k999", []byte("mk999"), body("k999", 10<<10))
	r, err := held.NewReader(0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	held.Release()
	if err != nil || string(got) != string(large) {
		t.Fatalf("held object of an evicted segment: %d bytes, %v", len(got), err)
	}
	if n := int64(len(c.index)); n != s.DiskObjects || n < 250 {
		t.Fatalf("index holds %d objects", n)
	}
}

// failingWrites makes the next n segment writes fail with ENOSPC.
func failingWrites(c *Cache) *atomic.Int64 {
	var n atomic.Int64
	c.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
		if n.Add(-1) >= 0 {
			// A partial write, as a full disk leaves it.
			w, _ := f.WriteAt(b[:len(b)/2], off)
			return w, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		n.Store(-1 << 40)
		return f.WriteAt(b, off)
	}
	return &n
}

func TestDiskFullEvictsAndRetries(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryBytes = -1
	c := mustOpen(t, cfg)
	defer c.Close()
	putN(t, c, "k", 200, 10<<10) // two sealed segments at least
	fail := failingWrites(c)
	fail.Store(1)
	if err := c.Put("after", []byte("m"), []byte("fits after evicting")); err != nil {
		t.Fatalf("Put after one ENOSPC: %v", err)
	}
	s := c.Stats()
	if s.DiskEvictions != 1 || s.WriteErrors != 0 {
		t.Fatalf("want one eviction and no write error: %+v", s)
	}
	expect(t, c, "after", []byte("m"), []byte("fits after evicting"))
	expectMiss(t, c, "k0") // it was in the evicted oldest segment
}

func TestDiskFullFailsCleanly(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryBytes = -1
	c := mustOpen(t, cfg)
	putN(t, c, "k", 20, 1000)
	if err := c.Put("k3", []byte("v1"), []byte("version one")); err != nil {
		t.Fatal(err)
	}
	fail := failingWrites(c)
	fail.Store(2)
	err := c.Put("k3", []byte("v2"), []byte("version two"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v, want ENOSPC", err)
	}
	expectMiss(t, c, "k3") // the old version is stale, the new one not stored
	if s := c.Stats(); s.WriteErrors != 1 {
		t.Fatalf("WriteErrors %d, want 1", s.WriteErrors)
	}
	// A streamed large write fails the same way, and its followers see it.
	fail.Store(2)
	w, err := c.Begin("big", nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	r := w.NewReader()
	if _, err := w.Write(make([]byte, 100<<10)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Writer.Write on a full disk: %v", err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, ErrAborted) {
		t.Fatalf("follower of a failed write: %v, want ErrAborted", err)
	}
	if err := w.Commit(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Commit after a failed write: %v", err)
	}
	if tmp := segFiles(t, cfg.Dir, "tmp-*"); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
	// The disk recovers: the cache carries on and a restart finds no damage.
	if err := c.Put("k4", []byte("new"), []byte("after recovery")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = mustOpen(t, cfg)
	defer c.Close()
	if s := c.Stats(); s.CorruptDropped != 0 || s.TornTails != 0 {
		t.Fatalf("restart after disk full found damage: %+v", s)
	}
	expectMiss(t, c, "k3")
	expectMiss(t, c, "big")
	expect(t, c, "k4", []byte("new"), []byte("after recovery"))
	for i := range 20 {
		if key := fmt.Sprintf("k%d", i); i != 3 && i != 4 {
			expect(t, c, key, []byte("m"+key), body(key, 1000))
		}
	}
}
