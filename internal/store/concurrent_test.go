package store

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// versioned builds the meta and body of version v of key: the meta names the version the
// body was written for, so a reader can tell a torn or mixed object from a sound one.
func versioned(key string, v, size int) (meta, b []byte) {
	tag := fmt.Sprintf("%s|v%d|", key, v)
	b = body(tag, size)
	return []byte(tag), b
}

func checkVersioned(t *testing.T, key string, o *Object) {
	m, b, err := readAll(t, o)
	if err != nil {
		t.Errorf("%s: read: %v", key, err)
		return
	}
	if strings.HasSuffix(string(m), "updated") {
		return // UpdateMeta may have raced a Put: the meta then names another version
	}
	tag := string(m)
	var v int
	if _, err := fmt.Sscanf(strings.TrimPrefix(tag, key+"|v"), "%d|", &v); err != nil {
		t.Errorf("%s: meta %q", key, m)
		return
	}
	if _, want := versioned(key, v, len(b)); !bytes.Equal(b, want) {
		t.Errorf("%s: body does not match meta %q", key, m)
	}
}

func TestConcurrentOperations(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryBytes = 256 << 10
	cfg.DiskBytes, cfg.SegmentBytes = 2<<20, 256<<10 // eviction runs all the time
	c := mustOpen(t, cfg)
	defer c.Close()
	const workers, ops, keys = 8, 150, 40
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range ops {
				key := fmt.Sprintf("key%d", r.IntN(keys))
				v := g*ops + i
				switch op := r.IntN(10); {
				case op < 4:
					if o, ok := c.Get(key); ok {
						checkVersioned(t, key, o)
					}
				case op < 7:
					meta, b := versioned(key, v, r.IntN(20<<10))
					if err := c.Put(key, meta, b); err != nil {
						t.Errorf("Put: %v", err)
					}
				case op < 8:
					c.Delete(key)
				case op < 9:
					if o, ok := c.Get(key); ok {
						m := append([]byte(nil), o.Meta()...)
						o.Release()
						c.UpdateMeta(key, append(m, "updated"...)) // may race a Put: then meta and body disagree
					}
				default:
					streamVersioned(t, c, key, v, 64<<10+r.IntN(100<<10))
				}
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.CorruptDropped != 0 || s.WriteErrors != 0 || s.DiskEvictions == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func streamVersioned(t *testing.T, c *Cache, key string, v, size int) {
	meta, b := versioned(key, v, size)
	w, err := c.Begin(key, meta, -1)
	if err != nil {
		t.Errorf("Begin: %v", err)
		return
	}
	r := w.NewReader()
	done := make(chan []byte)
	go func() { got, _ := io.ReadAll(r); r.Close(); done <- got }()
	writeChunks(t, w, b, uint64(v))
	if err := w.Commit(); err != nil {
		t.Errorf("Commit: %v", err)
	}
	if got := <-done; !bytes.Equal(got, b) {
		t.Errorf("follower of %s read %d bytes, want %d", key, len(got), len(b))
	}
}
