package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/imageproc"
)

// imaging is a domain's image processing, built from its configuration. A nil *imaging
// leaves every query parameter alone.
type imaging struct {
	cfg                    *config.Images
	imgix, oss, imgProcess bool
	autoFormat             bool
	limits                 imageproc.Limits
}

func newImaging(c *config.Images) *imaging {
	if !c.Enabled || len(c.Dialects) == 0 {
		return nil
	}
	return &imaging{
		cfg:        c,
		imgix:      slices.Contains(c.Dialects, config.DialectImgix),
		oss:        slices.Contains(c.Dialects, config.DialectOSS),
		imgProcess: slices.Contains(c.Dialects, config.DialectImageProcess),
		autoFormat: c.AutoFormat,
		limits: imageproc.Limits{
			MaxSourceBytes: int64(c.MaxSourceBytes), MaxSourcePixels: c.MaxSourcePixels,
			MaxOutputWidth: c.MaxOutputWidth, MaxOutputHeight: c.MaxOutputHeight, Timeout: c.Timeout.D(),
			MaxCost: maxCost(c.MaxCPU.D()),
		},
	}
}

// maxCost is the pipeline's cost limit for a CPU budget (0: none).
func maxCost(cpu time.Duration) imageproc.Cost {
	if cpu <= 0 {
		return -1
	}
	return imageproc.Cost(cpu / time.Millisecond)
}

// transform is what an image request asks for.
type transform struct {
	spec       imageproc.Spec // Format resolved: never "auto"
	negotiated bool           // the format was chosen from Accept: the response varies on it
	rest       string         // the raw query without the transform parameters: the source's
}

// parse finds the transform parameters of a raw query in the dialects the domain speaks.
// ok is false when there are none: the request is not an image request. imgix-style names
// (w, h, q...) are common words, so they count only on paths with an image extension: a
// search page's ?q= is left alone. x-oss-process and image_process count on any path.
func (im *imaging) parse(path, rawQuery, accept string) (t transform, ok bool, err error) {
	if im == nil || rawQuery == "" {
		return t, false, nil
	}
	imgixHere := im.imgix && imagePath(path)
	var imgix, rest []string
	var oss, proc []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		switch name := paramName(part); {
		case name == "x-oss-process" && im.oss:
			oss = append(oss, part)
		case name == "image_process" && im.imgProcess:
			proc = append(proc, part)
		case imgixHere && imageproc.IsImgixParam(name):
			imgix = append(imgix, part)
		default:
			if part != "" {
				rest = append(rest, part)
			}
		}
	}
	dialects := btoi(len(imgix) > 0) + btoi(len(oss) > 0) + btoi(len(proc) > 0)
	if dialects == 0 {
		return t, false, nil
	}
	t.rest = strings.Join(rest, "&")
	if dialects > 1 || len(oss) > 1 || len(proc) > 1 {
		return t, true, &imageproc.ParamError{Param: "query", Msg: "give the transform in one dialect, once (imgix parameters, x-oss-process or image_process)"}
	}
	switch {
	case len(oss) == 1:
		t.spec, err = imageproc.ParseOSS(paramValue(oss[0]))
	case len(proc) == 1:
		t.spec, err = imageproc.ParseImageProcess(paramValue(proc[0]))
	default:
		var q url.Values
		if q, err = url.ParseQuery(strings.Join(imgix, "&")); err != nil {
			return t, true, &imageproc.ParamError{Param: "query", Msg: "malformed query string"}
		}
		t.spec, _, err = imageproc.ParseImgix(q)
	}
	if err != nil {
		return t, true, err
	}
	if t.spec.Format == "auto" || (t.spec.Format == "" && im.autoFormat && !t.spec.IsZero() && !t.spec.Info) {
		// Accept collapses into the chosen format, so its many spellings share a cache entry.
		// "" (the source's format) stands for the fallback: the key never needs the source.
		t.spec.Format, t.negotiated = imageproc.NegotiateFormat(accept, ""), true
	}
	return t, true, nil
}

// imagePath reports whether a path ends in an image file extension.
func imagePath(p string) bool {
	dot := strings.LastIndexByte(p, '.')
	if dot < 0 || strings.IndexByte(p[dot:], '/') >= 0 {
		return false
	}
	switch strings.ToLower(p[dot+1:]) {
	case "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "avif", "heic", "heif":
		return true
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// paramValue is the unescaped value of one "name=value" query part.
func paramValue(part string) string {
	_, v, _ := strings.Cut(part, "=")
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// token names a transform's variant of its source.
func (t *transform) token() string {
	tok := "img:" + t.spec.Canonical()
	if t.negotiated {
		tok += ";accept"
	}
	return tok
}

// serveImage answers a request for a transformed image: from the stored variant when it is
// fresh, else made (once, however many clients ask) from the source, which comes through the
// cache like any other request for it.
func (s *Server) serveImage(w http.ResponseWriter, r *http.Request, d *domain, t *transform) {
	src := withURL(r, r.URL.EscapedPath(), t.rest)
	primary := d.keyer.key(src.Host, src.URL.EscapedPath(), src.URL.RawQuery, src.Header)
	key := derivedKey(primary, t.token())
	now := s.now()
	lk := lookup{primary: primary, key: key, fwd: "miss"}
	if obj, m := s.get(key); obj != nil {
		lk.obj, lk.m = obj, m
		if m.kind == kindObject {
			s.applyBans(d, &lk)
		}
	}
	if lk.obj != nil && lk.m.kind == kindObject && !lk.m.noCache {
		m := lk.m
		if m.fresh(now) || (!m.mustReval && -m.remaining(now) < m.swr) {
			cs := httpcache.Status{Hit: true, TTL: m.remaining(now), HasTTL: true}
			if m.fresh(now) {
				s.stats.Hits.Add(1)
			} else {
				s.stats.Stale.Add(1)
				cs.Detail = "stale-while-revalidate"
				// The remake outlives this request, whose header and URL the server reuses for
				// the connection's next one: it works on a deep copy.
				bgSrc, bgT := src.Clone(context.WithoutCancel(r.Context())), *t
				s.remakeInBackground(r, key, func(ctx context.Context) (made, error) {
					bg := lookup{primary: primary, key: key}
					if obj, bm := s.get(key); obj != nil { // a handle of its own: lk's is released below
						bg.obj, bg.m = obj, bm
					}
					defer bg.release()
					return s.makeImage(ctx, bgSrc, d, &bgT, key, &bg)
				})
			}
			s.serveStored(w, r, &lk, cs)
			lk.release()
			return
		}
	}
	stale := lk // a variant past its freshness: reused if its source turns out unchanged
	defer stale.release()
	s.serveMade(w, r, key, "miss", "transformed", func(ctx context.Context) (made, error) {
		return s.makeImage(ctx, src, d, t, key, &stale)
	})
}

// makeImage fetches the source and transforms it.
func (s *Server) makeImage(ctx context.Context, src *http.Request, d *domain, t *transform, key string, stale *lookup) (made, error) {
	ctx, cancel := context.WithTimeout(ctx, d.images.limits.Timeout)
	defer cancel()
	haveStale := stale.obj != nil && stale.m.kind == kindObject
	body, srcMeta, storable, err := s.fetchSource(ctx, src, d, d.images.limits.MaxSourceBytes)
	if err != nil {
		if haveStale && originFailure(err) && s.staleAllowed(stale.m, d, s.now()) {
			if b, rerr := readObject(stale.obj); rerr == nil {
				return made{m: stale.m, body: b, stale: true}, nil
			}
		}
		return made{}, err
	}
	tag := sourceTag(srcMeta, int64(len(body)))
	if haveStale && stale.m.source == tag {
		// The source was revalidated unchanged (or is served stale itself): the variant is
		// still right, and is not made again.
		if b, err := readObject(stale.obj); err == nil {
			m := s.refreshVariant(key, stale.m, srcMeta)
			return made{m: m, body: b, stale: !m.fresh(s.now()), detail: "source-revalidated"}, nil
		}
	}
	spec := t.spec
	if spec.Quality == 0 {
		if q := d.images.defaultQuality(spec.Format, srcMeta.header.Get("Content-Type")); q > 0 {
			if spec.Compress {
				q = max(q-10, 1) // as the pipeline lowers its own defaults for auto=compress
			}
			spec.Quality = q
		}
	}
	// Refused from the header alone (a bomb, a transform over the CPU budget) before the job
	// takes a place in the queue; the cost weighs the client's share of the workers.
	cost, err := imageproc.Plan(body, spec, d.images.limits)
	if err != nil {
		s.stats.ImagesFailed.Add(1)
		return made{}, err
	}
	release, err := s.images.Acquire(ctx, s.imageClient(src), cost)
	if err != nil {
		switch {
		case errors.Is(err, imageproc.ErrBusy):
			s.stats.ImagesBusy.Add(1)
		case errors.Is(err, context.DeadlineExceeded):
			s.stats.ImagesFailed.Add(1)
			err = imageproc.ErrTimeout
		}
		return made{}, err
	}
	defer release()
	res, err := imageproc.Process(ctx, body, spec, d.images.limits, func(ctx context.Context, path string) ([]byte, error) {
		return s.fetchMark(ctx, src, d, path)
	})
	if err != nil {
		if context.Cause(ctx) != errAbandoned {
			s.stats.ImagesFailed.Add(1)
		}
		return made{}, err
	}
	s.stats.ImagesMade.Add(1)
	h := derivedHeader(srcMeta.header)
	delete(h, "Content-Disposition") // its file name names the source's format, not this one's
	h["Content-Type"] = []string{res.ContentType}
	h["Etag"] = []string{bodyETag(res.Body)}
	h["Vary"] = varyWithout(srcMeta.header, "Accept-Encoding")
	if t.negotiated {
		addVary(h, "Accept")
	}
	if len(h["Vary"]) == 0 {
		delete(h, "Vary")
	}
	return made{m: derivedMeta(srcMeta, h, tag), body: res.Body, storable: storable}, nil
}

// imageClient names the client a made variant's work is counted against for the workers' fair
// share: its address (from a trusted proxy's X-Forwarded-For), an IPv6 client by its /64,
// which one subscriber commonly holds whole.
func (s *Server) imageClient(r *http.Request) string {
	ip := access.ClientIP(r.RemoteAddr, r.Header["X-Forwarded-For"], s.trusted)
	if ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.Unmap().String()
}

// originFailure says whether a source could not be had because the origin failed (a stale
// variant may then stand in), as opposed to a refusal about the source itself.
func originFailure(err error) bool {
	if rr, ok := err.(*relayedResponse); ok {
		return rr.status >= 500
	}
	return !errors.Is(err, imageproc.ErrUnprocessable)
}

// defaultQuality is the domain's configured quality for the output format, 0 for the
// pipeline's own default. format "" means the source's format.
func (im *imaging) defaultQuality(format, sourceType string) int {
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(sourceType), "image/")
	}
	switch format {
	case "jpeg", "jpg":
		return im.cfg.Quality.JPEG
	case "webp":
		return im.cfg.Quality.WebP
	case "avif":
		return im.cfg.Quality.AVIF
	}
	return 0
}

// varyWithout is h's Vary fields less one.
func varyWithout(h http.Header, field string) []string {
	var out []string
	for _, line := range h["Vary"] {
		for f := range strings.SplitSeq(line, ",") {
			if f = strings.TrimSpace(f); f != "" && !strings.EqualFold(f, field) {
				out = append(out, f)
			}
		}
	}
	return out
}

// fetchSource gets a source body through the cache, as a client request for it would (fresh
// hit, coalesced fill, revalidation, stale on origin errors), bounded by max bytes. It returns
// the stored metadata (freshness, primary key and tags for the variant) and whether the
// source was stored, so the variant may be. A source answer other than 200 comes back as a
// *relayedResponse.
func (s *Server) fetchSource(ctx context.Context, src *http.Request, d *domain, max int64) ([]byte, *meta, bool, error) {
	primary := d.keyer.key(src.Host, src.URL.EscapedPath(), src.URL.RawQuery, src.Header)
	if body, m, ok, err := s.cachedSource(d, primary, src.Header, max, true); ok || err != nil {
		return body, m, true, err
	}
	// A variant made from a stale source would not be stored: revalidate it now instead
	// of serving it stale-while-revalidate.
	sub := src.Clone(context.WithValue(ctx, syncRevalidate{}, true))
	for _, f := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Accept-Encoding"} {
		sub.Header.Del(f)
	}
	cw := &captureWriter{h: http.Header{}, limit: max}
	if err := s.subrequest(cw, sub, d); err != nil {
		return nil, nil, false, err
	}
	switch {
	case cw.status != http.StatusOK:
		return nil, nil, false, &relayedResponse{status: cw.status, header: cw.h, body: cw.body}
	case cw.over:
		return nil, nil, false, fmt.Errorf("%w: the source is larger than max_source_bytes (%d)", imageproc.ErrUnprocessable, max)
	}
	if body, m, ok, _ := s.cachedSource(d, primary, src.Header, max, false); ok && len(body) == len(cw.body) {
		return body, m, m.fresh(s.now()), nil // a source served stale makes a variant not worth storing
	}
	// Not stored (uncacheable, or too large for the store): use it once, store no variant.
	m := &meta{kind: kindObject, status: http.StatusOK, primary: primary, header: cw.h, responseTime: s.now().UnixNano()}
	return cw.body, m, false, nil
}

// cachedSource returns a stored source, only a fresh one when fresh is set.
func (s *Server) cachedSource(d *domain, primary string, h http.Header, max int64, fresh bool) ([]byte, *meta, bool, error) {
	lk := s.find(primary, h)
	defer lk.release()
	if lk.obj != nil && lk.m.kind == kindObject {
		s.applyBans(d, &lk)
	}
	if lk.obj == nil || lk.m.kind != kindObject || lk.m.status != http.StatusOK || (fresh && (!lk.m.fresh(s.now()) || lk.m.noCache)) {
		return nil, nil, false, nil
	}
	if lk.obj.Size() > max {
		return nil, nil, false, fmt.Errorf("%w: the source is larger than max_source_bytes (%d)", imageproc.ErrUnprocessable, max)
	}
	body, err := readObject(lk.obj)
	if err != nil {
		return nil, nil, false, err
	}
	if _, resident := lk.obj.Bytes(); resident {
		body = slices.Clone(body) // the store's bytes stay valid only while the object is held
	}
	return body, lk.m, true, nil
}

// subrequest serves sub through the cache into w, turning an aborted response (a corrupt
// record found mid-body, an origin cut) into an error.
func (s *Server) subrequest(w http.ResponseWriter, sub *http.Request, d *domain) error {
	if err := catchAbort(func() { s.serveCacheable(w, sub, d) }); err != nil {
		return fmt.Errorf("fetching %s: %w", sub.URL.Path, err)
	}
	return nil
}

// errAborted is a response the edge cut (http.ErrAbortHandler) while serving it in-process.
var errAborted = errors.New("the response was cut")

// catchAbort runs serve, which answers an in-process request, and reports a cut response as
// errAborted instead of the panic net/http would turn into a dropped connection.
func catchAbort(serve func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			err = errAborted
		}
	}()
	serve()
	return nil
}

// fetchMark gets a watermark image: a path on the image's own domain, through the cache. A URL
// can name no other host, so watermarks cannot make the edge fetch from anywhere else.
func (s *Server) fetchMark(ctx context.Context, img *http.Request, d *domain, path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || badPath(path) {
		return nil, fmt.Errorf("%w: watermark path %q", imageproc.ErrUnprocessable, path)
	}
	u := &url.URL{Path: path}
	r := img.Clone(ctx)
	r.URL, r.RequestURI = u, u.RequestURI()
	body, _, _, err := s.fetchSource(ctx, r, d, d.images.limits.MaxSourceBytes)
	var rr *relayedResponse
	if errors.As(err, &rr) {
		return nil, fmt.Errorf("%w: watermark %s answered %d", imageproc.ErrUnprocessable, path, rr.status)
	}
	return body, err
}

// syncRevalidate marks a request (a source subrequest) that must not be answered
// stale-while-revalidate: a stale object is revalidated before it is used.
type syncRevalidate struct{}

// captureWriter collects an in-process response (a source subrequest, a prefetch): the
// status, the header, the body up to limit bytes (over is set past it) and the body's size.
type captureWriter struct {
	h      http.Header
	status int
	body   []byte
	limit  int64
	over   bool
	n      int64
}

func (c *captureWriter) Header() http.Header { return c.h }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	n := len(p)
	c.n += int64(n)
	if room := c.limit - int64(len(c.body)); int64(n) > room {
		c.over = true // the rest is dropped: the caller refuses the source
		p = p[:max(room, 0)]
	}
	c.body = append(c.body, p...)
	return n, nil
}

var _ http.ResponseWriter = (*captureWriter)(nil)
