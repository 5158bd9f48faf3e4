package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

// entryOf returns the index entry of key (test helper; takes the lock).
func entryOf(t *testing.T, c *Cache, key string) diskEntry {
	t.Helper()
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.index[hashKey(key)]
	if !ok {
		t.Fatalf("%q not indexed", key)
	}
	return e
}

// flip inverts one byte of a file.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func removeHints(t *testing.T, dir string) {
	for _, h := range segFiles(t, dir, "seg-*.hint") {
		os.Remove(h)
	}
}

func putN(t *testing.T, c *Cache, prefix string, n, size int) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("%s%d", prefix, i)
		if err := c.Put(key, []byte("m"+key), body(key, size)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCrashKeepsFullyWrittenObjects(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	putN(t, c, "k", 300, 9000) // several sealed segments plus an active one without hint
	crash(c)
	c = mustOpen(t, cfg)
	defer c.Close()
	for i := range 300 {
		key := fmt.Sprintf("k%d", i)
		expect(t, c, key, []byte("m"+key), body(key, 9000))
	}
	if s := c.Stats(); s.TornTails != 0 || s.CorruptDropped != 0 {
		t.Fatalf("clean crash counted damage: %+v", s)
	}
}

func TestCrashTornTailTruncated(t *testing.T) {
	for _, cut := range []int64{1, 20, 36 + 2, 200, 5000} { // inside header, key, meta, body
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			cfg := testConfig(t)
			c := mustOpen(t, cfg)
			putN(t, c, "k", 50, 9000)
			last := entryOf(t, c, "k49")
			crash(c)
			path := c.segPath(last.seg)
			if err := os.Truncate(path, int64(last.off)+cut); err != nil {
				t.Fatal(err)
			}
			c = mustOpen(t, cfg)
			defer c.Close()
			for i := range 49 {
				key := fmt.Sprintf("k%d", i)
				expect(t, c, key, []byte("m"+key), body(key, 9000))
			}
			expectMiss(t, c, "k49")
			if s := c.Stats(); s.TornTails != 1 || s.CorruptDropped != 0 {
				t.Fatalf("stats %+v, want one torn tail and no corruption", s)
			}
			if fi, _ := os.Stat(path); fi.Size() != int64(last.off) {
				t.Fatalf("segment is %d bytes, want truncated to %d", fi.Size(), last.off)
			}
			// The cache keeps working and the next restart is clean.
			putN(t, c, "n", 5, 100)
			c.Close()
			c = mustOpen(t, cfg)
			defer c.Close()
			expect(t, c, "n4", []byte("mn4"), body("n4", 100))
			expect(t, c, "k48", []byte("mk48"), body("k48", 9000))
		})
	}
}

func TestCorruptSmallRecord(t *testing.T) {
	tests := []struct {
		name    string
		at      func(e diskEntry) int64 // offset in the segment of the byte to flip
		noHints bool                    // force the rebuild to scan
		// A scan cannot tell whose header is damaged, so it cannot shadow an older version
		// of that key: the older version (sound, never the damaged bytes) may be served.
		staleOK bool
	}{
		{"body via hint", func(e diskEntry) int64 { return int64(e.off) + 36 + 3 + 4 + 100 }, false, false},
		{"body via scan", func(e diskEntry) int64 { return int64(e.off) + 36 + 3 + 4 + 100 }, true, false},
		{"body crc via scan", func(e diskEntry) int64 { return int64(e.recLen+e.off) - 2 }, true, false},
		{"header length via hint", func(e diskEntry) int64 { return int64(e.off) + 9 }, false, false},
		{"header length via scan", func(e diskEntry) int64 { return int64(e.off) + 9 }, true, true},
		{"header magic via scan", func(e diskEntry) int64 { return int64(e.off) }, true, true},
		{"key via scan", func(e diskEntry) int64 { return int64(e.off) + 37 }, true, true},
		{"meta via hint", func(e diskEntry) int64 { return int64(e.off) + 36 + 3 + 1 }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.MemoryBytes = -1
			c := mustOpen(t, cfg)
			putN(t, c, "k", 10, 3000) // keys k0..k9: 2 bytes
			// An older version of k05 must not resurface when the newer one is dropped.
			c.Put("k05", []byte("old"), []byte("old body"))
			putN(t, c, "k0", 10, 3000) // k00..k09: 3-byte keys, meta "mk0N" (4 bytes)
			e := entryOf(t, c, "k05")
			c.Close()
			flip(t, c.segPath(e.seg), tt.at(e))
			if tt.noHints {
				removeHints(t, cfg.Dir)
			}
			c = mustOpen(t, cfg)
			defer c.Close()
			expectDropped(t, c, "k05", tt.staleOK)
			for i := range 10 {
				if i != 5 {
					key := fmt.Sprintf("k0%d", i)
					expect(t, c, key, []byte("m"+key), body(key, 3000))
				}
				key := fmt.Sprintf("k%d", i)
				expect(t, c, key, []byte("m"+key), body(key, 3000))
			}
			if s := c.Stats(); s.CorruptDropped != 1 || s.TornTails != 0 {
				t.Fatalf("stats %+v, want exactly one corrupt record", s)
			}
			c.Close()
			c = mustOpen(t, cfg) // the drop survives a restart
			defer c.Close()
			expectDropped(t, c, "k05", tt.staleOK)
		})
	}
}

// expectDropped asserts a miss, or with staleOK also the key's older sound version.
func expectDropped(t *testing.T, c *Cache, key string, staleOK bool) {
	t.Helper()
	o, ok := c.Get(key)
	if !ok {
		return
	}
	m, b, err := readAll(t, o)
	if !staleOK || err != nil || string(m) != "old" || string(b) != "old body" {
		t.Fatalf("Get(%q) after corruption: meta %q, %d bytes, err %v", key, m, len(b), err)
	}
}

func TestCorruptLargeBodyNeverReturned(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	want := body("large", 5*blockSize+123)
	if err := c.Put("large", []byte("L"), want); err != nil {
		t.Fatal(err)
	}
	e := entryOf(t, c, "large")
	c.Close()
	dataOff := int64(headerLen + len("large") + 1)
	flip(t, c.segPath(e.seg), dataOff+2*(blockSize+crcLen)+77) // inside block 2
	c = mustOpen(t, cfg)
	defer c.Close()
	o, ok := c.Get("large")
	if !ok {
		t.Fatal("miss: the header is sound, the body is checked when read")
	}
	r, err := o.NewReader(0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	o.Release()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadAll error %v, want ErrCorrupt", err)
	}
	if len(got) != 2*blockSize || string(got) != string(want[:len(got)]) {
		t.Fatalf("got %d bytes before the error, want the 2 verified blocks", len(got))
	}
	expectMiss(t, c, "large")
	if s := c.Stats(); s.CorruptDropped != 1 {
		t.Fatalf("CorruptDropped %d, want 1", s.CorruptDropped)
	}
}

func TestLargeRanges(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	defer c.Close()
	want := body("large", 4*blockSize+999)
	if err := c.Put("large", nil, want); err != nil {
		t.Fatal(err)
	}
	size := int64(len(want))
	tests := []struct{ off, n int64 }{
		{0, -1}, {0, 1}, {1, blockSize}, {blockSize - 1, 2}, {blockSize, blockSize},
		{3*blockSize + 5, -1}, {size - 1, 1}, {size, -1}, {size - 10, 100}, {2 * blockSize, 0},
	}
	o, ok := c.Get("large")
	if !ok {
		t.Fatal("miss")
	}
	defer o.Release()
	if _, resident := o.Bytes(); resident {
		t.Fatal("a large object claims to be resident")
	}
	for _, tt := range tests {
		r, err := o.NewReader(tt.off, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		end := size
		if tt.n >= 0 {
			end = min(size, tt.off+tt.n)
		}
		if err != nil || string(got) != string(want[tt.off:end]) {
			t.Fatalf("range %d+%d: %d bytes, err %v", tt.off, tt.n, len(got), err)
		}
	}
	if _, err := o.NewReader(size+1, 1); err == nil {
		t.Fatal("range past the end accepted")
	}
}
