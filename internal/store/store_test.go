package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testConfig is a small disk-backed configuration with a fixed clock and a silent logger.
func testConfig(t testing.TB) Config {
	return Config{
		MemoryBytes:     1 << 20,
		MemoryObjectMax: 64 << 10,
		Dir:             t.TempDir(),
		DiskBytes:       64 << 20,
		SegmentBytes:    1 << 20,
		Logger:          slog.New(slog.DiscardHandler),
		Now:             func() time.Time { return time.Unix(1700000000, 0) },
	}
}

func mustOpen(t testing.TB, cfg Config) *Cache {
	t.Helper()
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

// body returns deterministic pseudo-random bytes for key and size.
func body(key string, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(len(key)), uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, key)
	return b
}

// readAll reads the whole object through Bytes or NewReader, and releases it.
func readAll(t testing.TB, o *Object) ([]byte, []byte, error) {
	t.Helper()
	defer o.Release()
	meta := append([]byte(nil), o.Meta()...)
	if b, ok := o.Bytes(); ok {
		return meta, append([]byte(nil), b...), nil
	}
	r, err := o.NewReader(0, -1)
	if err != nil {
		return meta, nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return meta, b, err
}

// expect asserts that key holds meta and body.
func expect(t testing.TB, c *Cache, key string, meta, want []byte) {
	t.Helper()
	o, ok := c.Get(key)
	if !ok {
		t.Fatalf("Get(%q): miss", key)
	}
	if o.Size() != int64(len(want)) {
		t.Fatalf("Get(%q): Size %d, want %d", key, o.Size(), len(want))
	}
	m, b, err := readAll(t, o)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	if !bytes.Equal(m, meta) || !bytes.Equal(b, want) {
		t.Fatalf("Get(%q): meta %q body %d bytes; want meta %q body %d bytes (equal=%v)",
			key, m, len(b), meta, len(want), bytes.Equal(b, want))
	}
}

func expectMiss(t testing.TB, c *Cache, key string) {
	t.Helper()
	if o, ok := c.Get(key); ok {
		o.Release()
		t.Fatalf("Get(%q): hit, want miss", key)
	}
}

// crash drops the cache as a killed process would: no seal, no hint, no flush.
func crash(c *Cache) {
	c.closed.Store(true)
	c.releaseSegments()
}

func segFiles(t testing.TB, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"memory disabled with disk", func(c *Config) { c.MemoryBytes = -1; c.Dir = "/x" }, ""},
		{"memory disabled no disk", func(c *Config) { c.MemoryBytes = -1 }, "nothing would be stored"},
		{"negative memory", func(c *Config) { c.MemoryBytes = -2 }, "MemoryBytes"},
		{"object max too big", func(c *Config) { c.MemoryObjectMax = 1 << 40 }, "MemoryObjectMax"},
		{"tiny segment", func(c *Config) { c.Dir = "/x"; c.SegmentBytes = 10 }, "SegmentBytes"},
		{"disk below two segments", func(c *Config) { c.Dir = "/x"; c.DiskBytes = 100 << 20 }, "DiskBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			c.SetDefaults()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMemoryOnly(t *testing.T) {
	c := mustOpen(t, Config{MemoryBytes: 1 << 20, MemoryObjectMax: 1024})
	defer c.Close()
	if err := c.Put("a", []byte("m"), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "a", []byte("m"), []byte("hello"))
	if err := c.Put("big", nil, make([]byte, 2000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put above MemoryObjectMax without disk: %v, want ErrTooLarge", err)
	}
	if _, err := c.Begin("big", nil, 2000); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Begin above MemoryObjectMax without disk: %v, want ErrTooLarge", err)
	}
	w, err := c.Begin("unknown", nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("streamed write past the limit: %v, want ErrTooLarge", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write after failure: %v, want the same error", err)
	}
	if err := w.Commit(); err == nil {
		t.Fatal("Commit after a failed write succeeded")
	}
	expectMiss(t, c, "unknown")
	if err := c.UpdateMeta("a", []byte("m2")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "a", []byte("m2"), []byte("hello"))
	if err := c.UpdateMeta("nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateMeta of a missing key: %v", err)
	}
	c.Delete("a")
	expectMiss(t, c, "a")
}

func TestDiskPutGetDeleteUpdate(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryBytes = -1 // every Get exercises the disk tier
	c := mustOpen(t, cfg)
	defer c.Close()
	sizes := []int{0, 1, 1000, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 7}
	for _, n := range sizes {
		key := fmt.Sprintf("k%d", n)
		if err := c.Put(key, []byte("meta-"+key), body(key, n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range sizes {
		key := fmt.Sprintf("k%d", n)
		expect(t, c, key, []byte("meta-"+key), body(key, n))
	}
	if err := c.Put("k1", []byte("new"), []byte("replaced")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "k1", []byte("new"), []byte("replaced"))
	if err := c.UpdateMeta("k0", []byte("updated")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "k0", []byte("updated"), nil)
	c.Delete("k1000")
	expectMiss(t, c, "k1000")
	if s := c.Stats(); s.DiskObjects != int64(len(sizes)-1) || s.DiskHits == 0 || s.MemoryObjects != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDiskHitPromotesToMemory(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	if err := c.Put("k", []byte("m"), body("k", 5000)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = mustOpen(t, cfg)
	defer c.Close()
	expect(t, c, "k", []byte("m"), body("k", 5000)) // disk hit
	expect(t, c, "k", []byte("m"), body("k", 5000)) // now from memory
	if s := c.Stats(); s.DiskHits != 1 || s.MemoryHits != 1 {
		t.Fatalf("hits: disk %d memory %d, want 1 and 1", s.DiskHits, s.MemoryHits)
	}
}

func TestRestartClose(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	const n = 400 // several segments of 1 MiB
	for i := range n {
		key := fmt.Sprintf("obj/%d", i)
		if err := c.Put(key, []byte(key), body(key, 100+i*10)); err != nil {
			t.Fatal(err)
		}
	}
	large := body("large", 3<<20+5)
	if err := c.Put("large", []byte("L"), large); err != nil {
		t.Fatal(err)
	}
	c.Delete("obj/7")
	if err := c.UpdateMeta("obj/8", []byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateMeta("large", []byte("L2")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put("obj/9", []byte("v2"), []byte("second version")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(segFiles(t, cfg.Dir, "seg-*.hint")) == 0 {
		t.Fatal("no hints after Close")
	}
	c = mustOpen(t, cfg)
	defer c.Close()
	checkRestarted(t, c, n, large)
}

func checkRestarted(t *testing.T, c *Cache, n int, large []byte) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("obj/%d", i)
		switch i {
		case 7:
			expectMiss(t, c, key)
		case 8:
			expect(t, c, key, []byte("fresh"), body(key, 100+i*10))
		case 9:
			expect(t, c, key, []byte("v2"), []byte("second version"))
		default:
			expect(t, c, key, []byte(key), body(key, 100+i*10))
		}
	}
	expect(t, c, "large", []byte("L2"), large)
}

func TestRestartFullScanWithoutHints(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	const n = 400
	for i := range n {
		key := fmt.Sprintf("obj/%d", i)
		if err := c.Put(key, []byte(key), body(key, 100+i*10)); err != nil {
			t.Fatal(err)
		}
	}
	large := body("large", 3<<20+5)
	if err := c.Put("large", []byte("L"), large); err != nil {
		t.Fatal(err)
	}
	c.Delete("obj/7")
	c.UpdateMeta("obj/8", []byte("fresh"))
	c.UpdateMeta("large", []byte("L2"))
	c.Put("obj/9", []byte("v2"), []byte("second version"))
	c.Close()
	hints := segFiles(t, cfg.Dir, "seg-*.hint")
	for _, h := range hints {
		os.Remove(h)
	}
	// A corrupt hint must be ignored too.
	os.WriteFile(hints[0], []byte("garbage that is not a hint"), 0o644)
	c = mustOpen(t, cfg)
	defer c.Close()
	checkRestarted(t, c, n, large)
	if s := c.Stats(); s.CorruptDropped != 0 || s.TornTails != 0 {
		t.Fatalf("clean scan counted corruption: %+v", s)
	}
}
