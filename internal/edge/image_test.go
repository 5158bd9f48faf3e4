package edge

import (
	"bytes"
	"context"
	"encoding/base64"
	"github.com/pixcdn/pixcdn/internal/purge"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc"
)

// photoJPEG paints a w x h photo-like JPEG: gradients, a disc and noise.
func photoJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			r, g, b := 255*x/w, 255*y/h, 128
			if dx, dy := x-w/2, y-h/2; dx*dx+dy*dy < (h/4)*(h/4) {
				r, g, b = 230, 200, 40
			}
			n := rng.IntN(24) - 12
			img.Set(x, y, color.RGBA{clamp8(r + n), clamp8(g + n), clamp8(b + n), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func clamp8(v int) uint8 { return uint8(min(max(v, 0), 255)) }

// logoPNG is a small half-transparent PNG for watermarks.
func logoPNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			img.Set(x, y, color.NRGBA{255, 255, 255, 160})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombPNG is a 10000x10000 PNG (100 MP) header: refused from the header alone.
func bombPNG(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 10000, 10000))
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type imageOrigin struct {
	photo, logo, bomb []byte
	paths             atomic.Value // the last path and query the origin was asked for
}

func newImageHarness(t *testing.T, opt harnessOpt) (*harness, *imageOrigin) {
	io := &imageOrigin{photo: photoJPEG(t, 800, 600), logo: logoPNG(t)}
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		io.paths.Store(r.URL.RequestURI())
		w.Header().Set("Cache-Control", "max-age=600")
		switch r.URL.Path {
		case "/photo.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Etag", `"photo-1"`)
			w.Write(io.photo)
		case "/logo.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(io.logo)
		case "/bomb.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(io.bomb)
		case "/corrupt.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte("garbage!"), 200)...))
		case "/truncated.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(io.photo[:len(io.photo)/3])
		case "/notes.txt", "/fake.jpg":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("not an image"))
		default:
			http.NotFound(w, r)
		}
	}, opt)
	return hs, io
}

func probe(t *testing.T, r result) imageproc.Header {
	t.Helper()
	h, err := imageproc.Probe([]byte(r.body))
	if err != nil {
		t.Fatalf("response is not an image (%d, %s, %q): %v", r.StatusCode, r.Header.Get("Content-Type"), r.cacheStatus(), err)
	}
	return h
}

func TestImageVariantsFromOneSource(t *testing.T) {
	hs, io := newImageHarness(t, harnessOpt{})
	r := hs.get("/photo.jpg?w=200&v=3")
	expect(t, r, 200, "", "stored", "detail=transformed")
	if h := probe(t, r); h.Format != "jpeg" || h.Width != 200 || h.Height != 150 {
		t.Fatalf("w=200: %+v", h)
	}
	if got := io.paths.Load(); got != "/photo.jpg?v=3" {
		t.Fatalf("origin asked for %q; want the source only, other parameters kept", got)
	}
	if r.Header.Get("Content-Type") != "image/jpeg" || r.Header.Get("Etag") == `"photo-1"` || r.Header.Get("Vary") != "" {
		t.Fatalf("headers: %v", r.Header)
	}
	r2 := hs.get("/photo.jpg?v=3&w=200") // same variant, parameters in another order
	expect(t, r2, 200, r.body, "; hit")
	r3 := hs.get("/photo.jpg?w=120&h=120&fit=crop&v=3")
	if h := probe(t, r3); h.Width != 120 || h.Height != 120 {
		t.Fatalf("fill 120x120: %+v", h)
	}
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d: a new size of a cached source must not refetch it", hs.origin.hits.Load())
	}
	if r := hs.get("/photo.jpg?v=3"); r.body != string(io.photo) {
		t.Fatalf("the source itself must be served untouched")
	}
}

func TestImageDialectsShareOneEntry(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	first := hs.get("/photo.jpg?w=300&h=200&fit=crop")
	expect(t, first, 200, "", "detail=transformed")
	if h := probe(t, first); h.Width != 300 || h.Height != 200 {
		t.Fatalf("%+v", h)
	}
	for _, u := range []string{
		"/photo.jpg?x-oss-process=image/resize,m_fill,w_300,h_200",
		"/photo.jpg?image_process=resize,m_fill,w_300,h_200",
		"/photo.jpg?fit=crop&h=200&w=300",
	} {
		r := hs.get(u)
		expect(t, r, 200, first.body, "; hit")
	}
}

func TestImageAutoFormat(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	tests := []struct {
		accept, format string
		hit            bool
	}{
		{"image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif", false},
		{"image/avif, image/webp, */*", "avif", true}, // another spelling: the same entry
		{"image/avif;q=0,image/webp,*/*", "webp", false},
		{"image/webp,*/*;q=0.8", "webp", true},
		{"image/jpeg,image/png,*/*", "jpeg", false},
		{"", "jpeg", true},
	}
	for _, tt := range tests {
		r := hs.get("/photo.jpg?w=160&auto=format", "Accept: "+tt.accept)
		if h := probe(t, r); h.Format != tt.format || h.Width != 160 {
			t.Fatalf("Accept %q: %+v, want %s", tt.accept, h, tt.format)
		}
		if r.Header.Get("Content-Type") != "image/"+tt.format || !varies(r.Header, "Accept") {
			t.Fatalf("Accept %q: Content-Type %q Vary %q", tt.accept, r.Header.Get("Content-Type"), r.Header.Values("Vary"))
		}
		if hit := strings.Contains(r.cacheStatus(), "; hit"); hit != tt.hit {
			t.Fatalf("Accept %q: Cache-Status %q, want hit=%v", tt.accept, r.cacheStatus(), tt.hit)
		}
	}
	// An explicit format is not negotiated: no Vary: Accept.
	r := hs.get("/photo.jpg?w=160&fm=webp", "Accept: image/avif")
	if h := probe(t, r); h.Format != "webp" || varies(r.Header, "Accept") {
		t.Fatalf("fm=webp: %+v Vary %q", h, r.Header.Values("Vary"))
	}
}

func TestImageDomainAutoFormat(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{domainYAML: "    images: {auto_format: true, quality: {webp: 50}}\n"})
	r := hs.get("/photo.jpg?w=400", "Accept: image/webp,*/*")
	if h := probe(t, r); h.Format != "webp" || !varies(r.Header, "Accept") {
		t.Fatalf("domain auto_format: %+v", h)
	}
	q90 := hs.get("/photo.jpg?w=400&q=90", "Accept: image/webp,*/*")
	if len(q90.body) <= len(r.body) {
		t.Fatalf("domain default quality 50 gave %d bytes, q=90 %d: the default was not applied", len(r.body), len(q90.body))
	}
}

func TestImageETagsAndConditionals(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	a := hs.get("/photo.jpg?w=100")
	b := hs.get("/photo.jpg?w=101")
	ea, eb := a.Header.Get("Etag"), b.Header.Get("Etag")
	if ea == "" || strings.HasPrefix(ea, "W/") || ea == eb || ea == `"photo-1"` {
		t.Fatalf("variant ETags %q %q: want strong, distinct, not the source's", ea, eb)
	}
	r := hs.get("/photo.jpg?w=100", "If-None-Match: "+ea)
	expect(t, r, http.StatusNotModified, "", "; hit")
	if r := hs.get("/photo.jpg?w=101", "If-None-Match: "+ea); r.StatusCode != 200 {
		t.Fatalf("another variant's ETag must not validate: %d", r.StatusCode)
	}
	r = hs.get("/photo.jpg?w=100", "Range: bytes=0-99")
	if r.StatusCode != http.StatusPartialContent || r.body != a.body[:100] {
		t.Fatalf("range over a variant: %d, %d bytes", r.StatusCode, len(r.body))
	}
}

func TestImageInfo(t *testing.T) {
	hs, io := newImageHarness(t, harnessOpt{})
	r := hs.get("/photo.jpg?x-oss-process=image/info")
	want := `"width":800`
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" || !strings.Contains(r.body, want) ||
		!strings.Contains(r.body, `"format":"jpeg"`) || !strings.Contains(r.body, `"size":`+itoa(len(io.photo))) {
		t.Fatalf("info: %d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
}

func TestImageRefusals(t *testing.T) {
	hs, io := newImageHarness(t, harnessOpt{})
	io.bomb = bombPNG(t)
	tests := []struct {
		url    string
		status int
		says   string
	}{
		{"/photo.jpg?w=abc", 400, `"w"`},
		{"/photo.jpg?x-oss-process=image/resize,w_100/unknownop,a_1", 400, "unknownop"},
		{"/photo.jpg?w=100&x-oss-process=image/resize,w_100", 400, "one dialect"},
		{"/photo.jpg?mark=//evil.example/x.png", 400, "mark"},
		{"/notes.txt?x-oss-process=image/resize,w_100", 415, "not-an-image"},
		{"/fake.jpg?w=100", 415, "not-an-image"},
		{"/corrupt.jpg?w=100", 422, "unprocessable"},
		{"/truncated.jpg?w=100", 422, "unprocessable"},
		{"/bomb.png?w=100", 422, "unprocessable"},
		{"/missing.jpg?w=100", 404, ""},
	}
	for _, tt := range tests {
		r := hs.get(tt.url)
		if r.StatusCode != tt.status || !strings.Contains(r.body+r.cacheStatus(), tt.says) {
			t.Errorf("%s: %d %q (Cache-Status %q), want %d mentioning %q", tt.url, r.StatusCode, r.body, r.cacheStatus(), tt.status, tt.says)
		}
	}
	if st := hs.edge.ImageStats(); st.Failed != 5 || st.Made != 0 {
		t.Fatalf("image stats %+v; want 5 failed jobs (415 x2, 422 x3), none made", st)
	}
	if r := hs.get("/notes.txt"); r.StatusCode != 200 || r.body != "not an image" {
		t.Fatalf("a non-image without a transform passes untouched: %d %q", r.StatusCode, r.body)
	}
	// imgix-style names are ordinary parameters off image paths (a search page's ?q=).
	if r := hs.get("/notes.txt?w=100&q=shoes"); r.StatusCode != 200 || r.body != "not an image" || io.paths.Load() != "/notes.txt?w=100&q=shoes" {
		t.Fatalf("imgix names on a non-image path: %d %q, origin asked for %q", r.StatusCode, r.body, io.paths.Load())
	}
}

func TestImageWatermark(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	key := base64.URLEncoding.EncodeToString([]byte("logo.png"))
	r := hs.get("/photo.jpg?x-oss-process=image/resize,w_400/watermark,image_" + key + ",g_se,x_10,y_10,t_80")
	if h := probe(t, r); r.StatusCode != 200 || h.Width != 400 {
		t.Fatalf("watermarked: %d %+v", r.StatusCode, h)
	}
	plain := hs.get("/photo.jpg?x-oss-process=image/resize,w_400")
	if plain.body == r.body {
		t.Fatalf("the watermark changed nothing")
	}
	if got := hs.origin.hits.Load(); got != 2 {
		t.Fatalf("origin hits %d, want 2 (photo, logo)", got)
	}
}

func TestImagePurgeTakesVariants(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	hs.get("/photo.jpg?w=100")
	expect(t, hs.get("/photo.jpg?w=100"), 200, "", "; hit")
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"example.com/photo.jpg"}})
	r := hs.get("/photo.jpg?w=100")
	if strings.Contains(r.cacheStatus(), "; hit") || hs.origin.hits.Load() != 2 {
		t.Fatalf("after purging the source: Cache-Status %q, origin hits %d", r.cacheStatus(), hs.origin.hits.Load())
	}
}

func TestImageQueueFull(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{cacheYAML: "images: {workers: 1, queue: 1}\n"})
	hs.get("/photo.jpg") // the source is cached: what follows waits only on the workers
	release, err := hs.edge.images.Acquire(t.Context(), "holder", 1)
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan result, 1)
	go func() { queued <- hs.get("/photo.jpg?w=50") }()
	waitFor(t, "a queued image job", func() bool { _, waiting := hs.edge.images.Stats(); return waiting == 1 })
	r := hs.get("/photo.jpg?w=60")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" || !strings.Contains(r.body, "image-queue-full") {
		t.Fatalf("queue full: %d Retry-After %q body %q", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	release()
	if r := <-queued; r.StatusCode != 200 {
		t.Fatalf("the queued request: %d", r.StatusCode)
	}
	if st := hs.edge.ImageStats(); st.Busy != 1 || st.Made != 1 || st.Running != 0 || st.Waiting != 0 {
		t.Fatalf("image stats %+v; want 1 refused, 1 made, nothing running or waiting", st)
	}
	if r := hs.get("/photo.jpg?w=60"); r.StatusCode != 200 {
		t.Fatalf("after the queue drained: %d", r.StatusCode)
	}
}

// revalidatingPhoto serves the photo with a short freshness and answers 304 to its ETag, or
// 503 while down is set.
func revalidatingPhoto(photo []byte, cc string, down *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "origin down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Etag", `"p1"`)
		if r.Header.Get("If-None-Match") == `"p1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(photo)
	}
}

func TestImageVariantOutlivesItsSourceRevalidation(t *testing.T) {
	var down atomic.Bool
	hs := newHarness(t, revalidatingPhoto(photoJPEG(t, 400, 300), "max-age=60", &down), harnessOpt{})
	first := hs.get("/p.jpg?w=100")
	expect(t, first, 200, "", "detail=transformed")
	hs.clock.Advance(2 * time.Minute)
	r := hs.get("/p.jpg?w=100") // source revalidated with a 304: the variant is kept, not made again
	expect(t, r, 200, first.body, "detail=source-revalidated")
	expect(t, hs.get("/p.jpg?w=100"), 200, first.body, "; hit", "ttl=60")
	if made := hs.edge.stats.ImagesMade.Load(); made != 1 || hs.origin.hits.Load() != 2 {
		t.Fatalf("images made %d, origin hits %d; want 1 and 2", made, hs.origin.hits.Load())
	}
	// Origin down, everything stale: the stale variant stands in, nothing is made again.
	hs.clock.Advance(2 * time.Minute)
	down.Store(true)
	r = hs.get("/p.jpg?w=100")
	expect(t, r, 200, first.body, "fwd=stale", "detail=origin-error")
	if made := hs.edge.stats.ImagesMade.Load(); made != 1 {
		t.Fatalf("images made %d while the origin was down; want 1", made)
	}
	// Never-made variants cannot stand in: the source's error comes through.
	if r := hs.get("/p.jpg?w=90"); r.StatusCode != 200 {
		// The stale source still serves (stale_if_origin_down): a new variant is made from it.
		t.Fatalf("a new variant from the stale source: %d %q", r.StatusCode, r.cacheStatus())
	}
}

func TestImageStaleWhileRevalidate(t *testing.T) {
	var down atomic.Bool
	hs := newHarness(t, revalidatingPhoto(photoJPEG(t, 400, 300), "max-age=60, stale-while-revalidate=600", &down), harnessOpt{})
	first := hs.get("/p.jpg?w=100")
	hs.clock.Advance(2 * time.Minute)
	expect(t, hs.get("/p.jpg?w=100"), 200, first.body, "; hit", "detail=stale-while-revalidate")
	waitFor(t, "the background remake", func() bool {
		return !strings.Contains(hs.get("/p.jpg?w=100").cacheStatus(), "stale")
	})
	r := hs.get("/p.jpg?w=100")
	if !strings.Contains(r.cacheStatus(), "; hit") || strings.Contains(r.cacheStatus(), "stale") {
		t.Fatalf("after the remake: %q", r.cacheStatus())
	}
	if made := hs.edge.stats.ImagesMade.Load(); made != 1 {
		t.Fatalf("images made %d; the unchanged source's variant is reused", made)
	}
}

func TestImageAbandonedJobLeavesTheQueue(t *testing.T) {
	for _, engine := range []string{"native", "stdlib"} {
		t.Run(engine, func(t *testing.T) { testImageAbandonedJob(t, engine) })
	}
}

func testImageAbandonedJob(t *testing.T, engine string) {
	hs, _ := newImageHarness(t, harnessOpt{cacheYAML: "images: {workers: 1, queue: 1}\n", http1: engine})
	hs.get("/photo.jpg") // the source is cached
	release, err := hs.edge.images.Acquire(t.Context(), "holder", 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hs.edge.Addr()+"/photo.jpg?w=50", nil)
	req.Host = "example.com"
	gone := make(chan error, 1)
	go func() {
		resp, err := hs.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	waitFor(t, "the job to queue", func() bool { _, waiting := hs.edge.images.Stats(); return waiting == 1 })
	cancel() // the only client interested disconnects
	<-gone
	waitFor(t, "the abandoned job to leave the queue", func() bool { _, waiting := hs.edge.images.Stats(); return waiting == 0 })
	queued := make(chan result, 1)
	go func() { queued <- hs.get("/photo.jpg?w=60") }()
	waitFor(t, "the next job to queue", func() bool { _, waiting := hs.edge.images.Stats(); return waiting == 1 })
	release()
	if r := <-queued; r.StatusCode != 200 {
		t.Fatalf("the next request: %d %q", r.StatusCode, r.body)
	}
	if made := hs.edge.stats.ImagesMade.Load(); made != 1 {
		t.Fatalf("images made %d; the abandoned one must not have run", made)
	}
	if r := hs.get("/photo.jpg?w=50"); r.StatusCode != 200 || strings.Contains(r.cacheStatus(), "; hit") {
		t.Fatalf("the abandoned variant, asked again: %d %q", r.StatusCode, r.cacheStatus())
	}
}

func TestImageJobOutlivesItsFirstClientWhileOthersWait(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{cacheYAML: "images: {workers: 1, queue: 1}\n"})
	hs.get("/photo.jpg")
	release, err := hs.edge.images.Acquire(t.Context(), "holder", 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hs.edge.Addr()+"/photo.jpg?w=70", nil)
	req.Host = "example.com"
	gone := make(chan struct{})
	go func() {
		if resp, err := hs.client.Do(req); err == nil {
			resp.Body.Close()
		}
		close(gone)
	}()
	waitFor(t, "the first job to queue", func() bool { _, waiting := hs.edge.images.Stats(); return waiting == 1 })
	second := make(chan result, 1)
	go func() { second <- hs.get("/photo.jpg?w=70") }()
	waitFor(t, "the second client to join", func() bool { return hs.edge.cache.Stats.Coalesced.Load() >= 1 })
	cancel()
	<-gone
	release()
	r := <-second
	expect(t, r, 200, "", "collapsed")
	if made := hs.edge.stats.ImagesMade.Load(); made != 1 {
		t.Fatalf("images made %d, want 1", made)
	}
}
