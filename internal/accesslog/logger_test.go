package accesslog

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestOpenWritesJSONLinesAndCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	ri := sampleRequest()
	for i := range n {
		ri.Status = 200 + i%3
		l.Log(ri)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines)+int(l.Dropped()) != n || l.Dropped() != 0 {
		t.Fatalf("%d lines written, %d dropped; want %d and 0", len(lines), l.Dropped(), n)
	}
	for i, s := range lines {
		var v struct {
			Status int    `json:"status"`
			URI    string `json:"uri"`
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil || v.Status != 200+i%3 || v.URI != ri.URI {
			t.Fatalf("line %d = %s (%+v, %v)", i, s, v, err)
		}
	}
	// Close is idempotent; Log after Close is counted, Reopen refused.
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l.Log(ri)
	if l.Dropped() != 1 {
		t.Fatalf("Log after Close: dropped = %d, want 1", l.Dropped())
	}
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reopen after Close = %v, want ErrClosed", err)
	}
}

func TestReopenAfterRenameWritesNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	l, err := Open(Config{Path: path, Format: FormatCombined})
	if err != nil {
		t.Fatal(err)
	}
	ri := sampleRequest()
	ri.RequestID = "before"
	l.Log(ri)
	if err := os.Rename(path, path+".1"); err != nil { // what logrotate does
		t.Fatal(err)
	}
	ri.RequestID = "still-old" // queued before Reopen: belongs to the renamed file
	l.Log(ri)
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	ri.RequestID = "after"
	l.Log(ri)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old, cur := readLines(t, path+".1"), readLines(t, path)
	if len(old) != 2 || !strings.HasSuffix(old[0], "rid=before") || !strings.HasSuffix(old[1], "rid=still-old") {
		t.Errorf("rotated file = %q", old)
	}
	if len(cur) != 1 || !strings.HasSuffix(cur[0], "rid=after") {
		t.Errorf("new file = %q", cur)
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "access.log")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Dir(path), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Fatal("Reopen into a missing directory succeeded")
	}
	l.Log(sampleRequest())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, filepath.Join(dir, "moved", "access.log")); len(got) != 1 {
		t.Fatalf("old file has %d lines, want 1", len(got))
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{Format: "xml"}); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := Open(Config{BufferLines: -1}); err == nil {
		t.Error("negative BufferLines accepted")
	}
	if _, err := Open(Config{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "x.log")}); err == nil {
		t.Error("unopenable path accepted")
	}
}

// gateWriter blocks every Write until released, to play a disk that stalls.
type gateWriter struct {
	entered chan struct{} // receives once per Write call
	release chan struct{} // closed to let writes through
	mu      sync.Mutex
	data    strings.Builder
	closed  bool
}

func newGateWriter() *gateWriter {
	return &gateWriter{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.data.Write(p)
}

func (g *gateWriter) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return nil
}

func (g *gateWriter) lines() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Count(g.data.String(), "\n")
}

// fakeClock is a clock whose time and ticks the test controls.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	tick chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tick: make(chan time.Time)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) clock() clock { return clock{now: c.now, tick: c.tick} }

func openWith(t *testing.T, cfg Config, w io.WriteCloser, clk clock) *Logger {
	t.Helper()
	l, err := newLogger(cfg.withDefaults(), func() (io.WriteCloser, error) { return w, nil }, clk)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSlowWriterDropsInsteadOfBlocking(t *testing.T) {
	g := newGateWriter()
	fc := newFakeClock()
	const queue = 16
	l := openWith(t, Config{BufferLines: queue}, g, fc.clock())
	ri := sampleRequest()
	l.Log(ri)
	fc.advance(time.Second)
	fc.tick <- fc.now() // the poll writes the queued line and flushes: the writer stalls
	<-g.entered

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range queue + 10 {
			l.Log(ri)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Log blocked behind a stalled writer")
	}
	if got := l.Dropped(); got != 10 {
		t.Fatalf("dropped %d, want 10", got)
	}
	close(g.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := g.lines(); got != 1+queue {
		t.Fatalf("wrote %d lines, want %d", got, 1+queue)
	}
	if !g.closed {
		t.Fatal("Close did not close the output")
	}
}

// recorder is an output that counts Write calls (flushes, since bufio batches lines).
type recorder struct {
	mu     sync.Mutex
	writes int
	data   strings.Builder
	fail   int // fail this many writes first
	wrote  chan struct{}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		r.wrote <- struct{}{}
	}()
	r.writes++
	if r.fail > 0 {
		r.fail--
		return 0, errors.New("disk full")
	}
	return r.data.Write(p)
}

func (r *recorder) Close() error { return nil }

func (r *recorder) snapshot() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes, r.data.String()
}

func TestFlushPolicy(t *testing.T) {
	fc := newFakeClock()
	rec := &recorder{wrote: make(chan struct{}, 100)}
	l := openWith(t, Config{Format: FormatCombined}, rec, fc.clock())
	ri := sampleRequest()
	// poll returns once the writer has finished the previous poll: the tick channel is
	// unbuffered, so the second send waits for the writer to come back to its select.
	poll := func() {
		fc.tick <- fc.now()
		fc.tick <- fc.now()
	}

	// The last flush is long ago: the next poll writes the line out.
	fc.advance(time.Second)
	ri.RequestID = "first"
	l.Log(ri)
	poll()
	// Right after a flush, a line waits in the buffer for FlushInterval.
	ri.RequestID = "second"
	l.Log(ri)
	poll()
	if writes, data := rec.snapshot(); writes != 1 || !strings.Contains(data, "rid=first") {
		t.Fatalf("before FlushInterval: %d writes, data %q; want 1 write of the first line", writes, data)
	}
	fc.advance(200 * time.Millisecond)
	poll()
	writes, data := rec.snapshot()
	if writes != 2 || strings.Count(data, "\n") != 2 || !strings.Contains(data, "rid=second") {
		t.Fatalf("after FlushInterval: %d writes, data %q", writes, data)
	}
	// Idle polls write nothing.
	fc.advance(time.Second)
	poll()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if writes, _ := rec.snapshot(); writes != 2 {
		t.Fatalf("%d writes, want 2 (idle polls and Close with nothing buffered write nothing)", writes)
	}
}

func TestHalfFullQueueKicksWriter(t *testing.T) {
	fc := newFakeClock() // never ticks in this test
	rec := &recorder{wrote: make(chan struct{}, 100)}
	l := openWith(t, Config{BufferLines: 8}, rec, fc.clock())
	fc.advance(time.Second)
	for range 4 {
		l.Log(sampleRequest())
	}
	<-rec.wrote
	if _, data := rec.snapshot(); strings.Count(data, "\n") != 4 {
		t.Fatalf("kicked writer wrote %q, want 4 lines", data)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrorIsCountedAndLoggingRecovers(t *testing.T) {
	fc := newFakeClock()
	rec := &recorder{wrote: make(chan struct{}, 100), fail: 1}
	l := openWith(t, Config{}, rec, fc.clock())
	ri := sampleRequest()
	ri.RequestID = "lost"
	l.Log(ri)
	fc.advance(time.Second)
	fc.tick <- fc.now()
	<-rec.wrote
	ri.RequestID = "kept"
	l.Log(ri)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, data := rec.snapshot()
	if st := l.Stats(); st.WriteErrors != 1 || st.Dropped != 0 {
		t.Fatalf("stats = %+v, want 1 write error, 0 dropped", st)
	}
	sc := bufio.NewScanner(strings.NewReader(data))
	var ids []string
	for sc.Scan() {
		var v struct {
			ID string `json:"request_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if len(ids) != 1 || ids[0] != "kept" {
		t.Fatalf("written ids = %q, want [kept]", ids)
	}
}

// TestConcurrentLogCountsEveryLine logs from several goroutines while the writer runs on the
// real clock, with buffers handed over by size (the lines outnumber one 64 KB buffer many
// times): every line must be written once, whole, and none dropped.
func TestConcurrentLogCountsEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 4, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ri := sampleRequest()
			for i := range each {
				ri.Status = 200 + g
				ri.BytesSent = int64(i)
				l.Log(ri)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int]bool{}
	for _, s := range readLines(t, path) {
		var v struct {
			Status int `json:"status"`
			Bytes  int `json:"bytes"`
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("%v in %q", err, s)
		}
		key := [2]int{v.Status, v.Bytes}
		if seen[key] {
			t.Fatalf("line %v written twice", key)
		}
		seen[key] = true
	}
	if len(seen) != goroutines*each || l.Dropped() != 0 {
		t.Fatalf("%d distinct lines, %d dropped; want %d and 0", len(seen), l.Dropped(), goroutines*each)
	}
}

// TestFullBufferIsWrittenWithoutWaitingForTheFlush: a front buffer that reaches 64 KB is
// handed to the writer at once, without a tick, and written with one call per buffer.
func TestFullBufferIsWrittenWithoutWaitingForTheFlush(t *testing.T) {
	fc := newFakeClock() // never ticks in this test
	rec := &recorder{wrote: make(chan struct{}, 100)}
	l := openWith(t, Config{}, rec, fc.clock())
	ri := sampleRequest()
	n := 0
	for {
		l.Log(ri)
		n++
		select {
		case <-rec.wrote:
		default:
			continue
		}
		break
	}
	writes, data := rec.snapshot()
	// The writer may have written a second full buffer before the loop saw the first write.
	if writes < 1 || len(data) < writes*writeBufferSize || strings.Count(data, "\n") > n {
		t.Fatalf("after %d lines: %d writes of %d bytes in all; want writes of at least %d bytes each", n, writes, len(data), writeBufferSize)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, data := rec.snapshot(); strings.Count(data, "\n") != n {
		t.Fatalf("%d lines written, want %d", strings.Count(data, "\n"), n)
	}
}
