package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Origin is the benchmark origin's handler. Its zero value is not usable: build it with
// NewOrigin. It is safe for concurrent use.
type Origin struct {
	delay   time.Duration
	genSize int
	// after is time.After unless a test injects its own, so the delay can be tested without
	// waiting for it.
	after func(time.Duration) <-chan time.Time

	counts sync.Map // path → *atomic.Int64
	total  atomic.Int64
	bodies sync.Map // "/obj/<size>" and "/slow/" → body; built once, shared read-only

	files        map[string]file // "/files/<name>" → the file, read once at start
	filesControl string          // Cache-Control of /files/*
}

// file is one body of the -files directory with its Content-Type.
type file struct {
	body  []byte
	ctype string
}

// Config is what an Origin serves.
type Config struct {
	Delay   time.Duration // how long /slow/* waits before answering
	GenSize int           // bytes of each /gen/* object
	// FilesDir, when set, is a directory whose regular files are served as /files/<name>
	// (read into memory once, at start), so the image and text benchmarks get real image,
	// CSS and JS bodies with their Content-Type.
	FilesDir string
	// FilesCacheControl is the Cache-Control of /files/*: "no-store" makes an edge process
	// every image request again, "max-age=3600" lets it keep the source and its variants.
	FilesCacheControl string
}

// DefaultConfig is the herd test's origin time and the memory test's object size.
func DefaultConfig() Config {
	return Config{Delay: 200 * time.Millisecond, GenSize: 100 << 10, FilesCacheControl: "max-age=3600"}
}

// Validate rejects sizes and delays that would make the benchmarks meaningless.
func (c Config) Validate() error {
	if c.Delay < 0 {
		return fmt.Errorf("benchorigin: negative delay %v", c.Delay)
	}
	if c.GenSize <= 0 || c.GenSize > maxObject {
		return fmt.Errorf("benchorigin: gen size %d out of (0, %d]", c.GenSize, maxObject)
	}
	if c.FilesDir != "" && c.FilesCacheControl == "" {
		return fmt.Errorf("benchorigin: files dir %s without a Cache-Control", c.FilesDir)
	}
	return nil
}

// maxObject bounds every generated body so a typo in a URL cannot exhaust memory.
const maxObject = 64 << 20

// NewOrigin builds the handler for cfg.
func NewOrigin(cfg Config) (*Origin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Origin{delay: cfg.Delay, genSize: cfg.GenSize, after: time.After, filesControl: cfg.FilesCacheControl}
	if cfg.FilesDir != "" {
		files, err := readFiles(cfg.FilesDir)
		if err != nil {
			return nil, err
		}
		o.files = files
	}
	return o, nil
}

// readFiles loads every regular file directly in dir (no subdirectories), keyed by its
// /files/ path, with the Content-Type its extension gives (octet-stream when unknown).
func readFiles(dir string) (map[string]file, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("benchorigin: files dir: %w", err)
	}
	files := make(map[string]file, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("benchorigin: files dir: %w", err)
		}
		ctype := mime.TypeByExtension(filepath.Ext(e.Name()))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		files["/files/"+e.Name()] = file{body: body, ctype: ctype}
	}
	return files, nil
}

var _ http.Handler = (*Origin)(nil)

// ServeHTTP routes:
//
//	/obj/<n>k or /obj/<n>  a fixed object of n KiB (or n bytes), e.g. /obj/1k, /obj/20k
//	/slow/<anything>       a 1 KiB object answered after the configured delay
//	/gen/<anything>        a GenSize object whose bytes are derived from the path
//	/files/<name>          a file of the -files directory, with FilesCacheControl
//	/__count[?path=P]      requests seen so far for path P, or for every path
//
// Every object is cacheable for an hour and carries a strong ETag, so caches can keep it and
// revalidate it; the counter is how a run proves how many requests reached the origin.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/__count" {
		o.serveCount(w, r)
		return
	}
	o.count(p)
	switch {
	case strings.HasPrefix(p, "/obj/"):
		n, err := parseSize(strings.TrimPrefix(p, "/obj/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		o.serveBody(w, r, o.fixed(n))
	case strings.HasPrefix(p, "/slow/"):
		if !o.wait(r.Context()) {
			return
		}
		o.serveBody(w, r, o.fixed(1<<10))
	case strings.HasPrefix(p, "/gen/"):
		o.serveBody(w, r, generate(p, o.genSize))
	case strings.HasPrefix(p, "/files/"):
		o.serveFile(w, r)
	default:
		http.NotFound(w, r)
	}
}

// wait holds a /slow/ request for the delay; false when the client went away first.
func (o *Origin) wait(ctx context.Context) bool {
	if o.delay == 0 {
		return true
	}
	select {
	case <-o.after(o.delay):
		return true
	case <-ctx.Done():
		return false
	}
}

func (o *Origin) count(path string) {
	o.total.Add(1)
	c, ok := o.counts.Load(path)
	if !ok {
		c, _ = o.counts.LoadOrStore(path, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// Count is the number of requests seen for path; "" means all paths. /__count is not counted.
func (o *Origin) Count(path string) int64 {
	if path == "" {
		return o.total.Load()
	}
	if c, ok := o.counts.Load(path); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

func (o *Origin) serveCount(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, o.Count(r.URL.Query().Get("path")))
}

// serveBody answers with body through http.ServeContent, so conditional (If-None-Match → 304),
// range and HEAD requests behave as a real origin's would.
func (o *Origin) serveBody(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "max-age=3600")
	h.Set("ETag", etag(body))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// serveFile answers /files/<name> with its Content-Type and the configured Cache-Control.
func (o *Origin) serveFile(w http.ResponseWriter, r *http.Request) {
	f, ok := o.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", o.filesControl)
	h.Set("ETag", etag(f.body))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// fixed is the shared body of n bytes, built on first use.
func (o *Origin) fixed(n int) []byte {
	if b, ok := o.bodies.Load(n); ok {
		return b.([]byte)
	}
	b, _ := o.bodies.LoadOrStore(n, generate("/obj/"+strconv.Itoa(n), n))
	return b.([]byte)
}

// parseSize reads "20k" as 20 KiB and "300" as 300 bytes.
func parseSize(s string) (int, error) {
	mult := 1
	if rest, ok := strings.CutSuffix(s, "k"); ok {
		s, mult = rest, 1<<10
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > maxObject/mult {
		return 0, fmt.Errorf("benchorigin: bad object size %q", s)
	}
	return n * mult, nil
}

// generate fills n bytes from a xorshift stream seeded by the path: the same path always gives
// the same bytes (so ETags are stable across origin restarts) and the bytes do not compress,
// like the images a CDN mostly serves.
func generate(path string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(path))
	x := h.Sum64() | 1
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	return b
}

// etag is a strong validator derived from the body.
func etag(body []byte) string {
	h := fnv.New64a()
	h.Write(body)
	return fmt.Sprintf(`"%016x"`, h.Sum64())
}
