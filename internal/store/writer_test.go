package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// writeChunks writes b in pseudo-random chunk sizes.
func writeChunks(t testing.TB, w *Writer, b []byte, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(100<<10))
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		b = b[n:]
	}
}

func TestFollowersSeeAllBytes(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int
		hint int64
		disk bool
	}{
		{"small in memory only", 50 << 10, -1, false},
		{"small with disk", 50 << 10, -1, true},
		{"spills past MemoryObjectMax", 3<<20 + 17, -1, true},
		{"large from the hint", 3<<20 + 17, 3<<20 + 17, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			if !tt.disk {
				cfg.Dir = ""
			}
			c := mustOpen(t, cfg)
			defer c.Close()
			want := body(tt.name, tt.size)
			w, err := c.Begin("k", []byte("m"), tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			results := make([][]byte, 3)
			errs := make([]error, 3)
			var wg sync.WaitGroup
			for i := range 2 {
				r := w.NewReader()
				wg.Go(func() { results[i], errs[i] = io.ReadAll(r); r.Close() })
			}
			writeChunks(t, w, want[:len(want)/2], 1)
			late := w.NewReader() // joins half way, still reads from the start
			wg.Go(func() { results[2], errs[2] = io.ReadAll(late); late.Close() })
			writeChunks(t, w, want[len(want)/2:], 2)
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			for i := range results {
				if errs[i] != nil || !bytes.Equal(results[i], want) {
					t.Fatalf("follower %d: %d bytes, err %v", i, len(results[i]), errs[i])
				}
			}
			after := w.NewReader() // after Commit: everything, then EOF
			got, err := io.ReadAll(after)
			after.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("follower after Commit: %d bytes, %v", len(got), err)
			}
			expect(t, c, "k", []byte("m"), want)
		})
	}
}

func TestFollowersAbort(t *testing.T) {
	for _, size := range []int{1000, 2 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cfg := testConfig(t)
			c := mustOpen(t, cfg)
			defer c.Close()
			w, err := c.Begin("k", nil, -1)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 3)
			for range 3 {
				r := w.NewReader()
				go func() { _, err := io.ReadAll(r); errs <- err }()
			}
			writeChunks(t, w, body("k", size), 3)
			w.Abort()
			for range 3 {
				if err := <-errs; !errors.Is(err, ErrAborted) {
					t.Fatalf("follower after Abort: %v, want ErrAborted", err)
				}
			}
			if err := w.Commit(); err == nil {
				t.Fatal("Commit after Abort succeeded")
			}
			expectMiss(t, c, "k")
			if tmp := segFiles(t, cfg.Dir, "tmp-*"); len(tmp) != 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
			if s := c.Stats(); s.DiskBytes != 0 {
				t.Fatalf("aborted write still counted: DiskBytes %d", s.DiskBytes)
			}
		})
	}
}

func TestFollowerCloseUnblocks(t *testing.T) {
	c := mustOpen(t, testConfig(t))
	defer c.Close()
	w, err := c.Begin("k", nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	r := w.NewReader()
	done := make(chan error)
	go func() {
		_, err := r.Read(make([]byte, 10)) // blocks: nothing written yet
		done <- err
	}()
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestBeginLimits(t *testing.T) {
	cfg := testConfig(t)
	c := mustOpen(t, cfg)
	defer c.Close()
	if _, err := c.Begin("k", nil, cfg.DiskBytes/4+1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Begin above DiskBytes/4: %v", err)
	}
	w, err := c.Begin("k", nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err = w.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrTooLarge) || w.Commit() == nil {
		t.Fatalf("streaming past DiskBytes/4: %v", err)
	}
	if s := c.Stats(); s.DiskBytes != 0 {
		t.Fatalf("failed write still counted: %d", s.DiskBytes)
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestLargeObjectHeapStaysSmall streams 200 MB in and out and checks the Go heap never
// grows by more than 32 MB: the body is never buffered whole.
func TestLargeObjectHeapStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB of disk I/O")
	}
	const size = 200 << 20
	cfg := testConfig(t)
	cfg.DiskBytes, cfg.SegmentBytes = 1<<30, 64<<20
	c := mustOpen(t, cfg)
	defer c.Close()
	base := heapInuse()
	var peak uint64
	sample := func() { peak = max(peak, heapInuse()) }
	w, err := c.Begin("huge", []byte("m"), -1)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	for i := range size / len(chunk) {
		chunk[0] = byte(i)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			sample()
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	o, ok := c.Get("huge")
	if !ok {
		t.Fatal("miss")
	}
	r, err := o.NewReader(0, -1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	var n int64
	for i := 0; ; i++ {
		k, err := io.ReadFull(r, buf)
		n += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if buf[0] != byte(i) {
			t.Fatalf("chunk %d starts with %d", i, buf[0])
		}
		if i%100 == 0 {
			sample()
		}
	}
	r.Close()
	o.Release()
	growth := int64(peak) - int64(base)
	t.Logf("heap in use: base %d MB, peak %d MB (growth %d MB) for a %d MB object",
		base>>20, peak>>20, growth>>20, size>>20)
	if n != size || growth > 32<<20 {
		t.Fatalf("read %d bytes; heap grew by %d MB", n, growth>>20)
	}
}
