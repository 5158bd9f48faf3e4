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
	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/imageproc"
	"github.com/pixcdn/pixcdn/internal/objcache"
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
		switch name := objcache.ParamName(part); {
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
func (s *Server) serveImage(w http.ResponseWriter, r *http.Request, d *domain, t *transform, from caller) error {
	src := withURL(r, r.URL.EscapedPath(), t.rest)
	primary := d.policy.Keys.Key(src.Host, src.URL.EscapedPath(), src.URL.RawQuery, src.Header)
	key := objcache.DerivedKey(primary, t.token())
	tc := *t                      // the background remake may outlive t
	stop := h1.WatchDisconnect(w) // the native listener notices a client that leaves while we wait
	// The variant's owner (another node, maybe) is asked with the transform parameters; the
	// variant is made here from the source, which is asked without them.
	req := objcache.Request{HTTP: r, Primary: primary, Now: s.now(), NoPick: from == fromPeer}
	res := s.cache.GetDerived(d.policy, &req, key, func(ctx context.Context, r *http.Request, stale *objcache.Entry) (objcache.Made, error) {
		return s.makeImage(ctx, withURL(r, r.URL.EscapedPath(), tc.rest), d, &tc, key, stale)
	})
	stop()
	if from >= fromPeer {
		peerTags(w, res.Meta)
	}
	return s.answerMade(w, r, &res, "miss", "transformed")
}

// makeImage fetches the source and transforms it. stale is the variant stored past its
// freshness, if any: reused when the source is unchanged, standing in when the origin fails.
func (s *Server) makeImage(ctx context.Context, src *http.Request, d *domain, t *transform, key string, stale *objcache.Entry) (objcache.Made, error) {
	ctx, cancel := context.WithTimeout(ctx, d.images.limits.Timeout)
	defer cancel()
	haveStale := stale.Obj != nil && stale.Meta.Kind == objcache.RecordObject
	source, err := s.cache.Source(ctx, d.policy, src, d.images.limits.MaxSourceBytes)
	if err != nil {
		if haveStale && originFailure(err) && s.cache.StaleAllowed(d.policy, stale.Meta, s.now()) {
			if b, rerr := objcache.ReadObject(stale.Obj); rerr == nil {
				return objcache.Made{Meta: stale.Meta, Body: b, Stale: true}, nil
			}
		}
		return objcache.Made{}, err
	}
	body, srcMeta := source.Body, source.Meta
	tag := objcache.SourceTag(srcMeta, int64(len(body)))
	if haveStale && stale.Meta.Source == tag {
		// The source was revalidated unchanged (or is served stale itself): the variant is
		// still right, and is not made again.
		if b, err := objcache.ReadObject(stale.Obj); err == nil {
			m := s.cache.RefreshVariant(key, stale.Meta, srcMeta)
			return objcache.Made{Meta: m, Body: b, Stale: !m.Fresh(s.now()), Detail: "source-revalidated"}, nil
		}
	}
	spec := t.spec
	if spec.Quality == 0 {
		if q := d.images.defaultQuality(spec.Format, srcMeta.Header.Get("Content-Type")); q > 0 {
			if spec.Compress {
				q = imageproc.CompressedQuality(q) // as the pipeline lowers its own defaults
			}
			spec.Quality = q
		}
	}
	// Refused from the header alone (a bomb, a transform over the CPU budget) before the job
	// takes a place in the queue; the cost weighs the client's share of the workers.
	job, err := imageproc.Plan(body, spec, d.images.limits)
	if err != nil {
		s.stats.ImagesFailed.Add(1)
		return objcache.Made{}, err
	}
	release, err := s.images.Acquire(ctx, s.imageClient(src), job.Cost)
	if err != nil {
		switch {
		case errors.Is(err, imageproc.ErrBusy):
			s.stats.ImagesBusy.Add(1)
		case errors.Is(err, context.DeadlineExceeded):
			s.stats.ImagesFailed.Add(1)
			err = imageproc.ErrTimeout
		}
		return objcache.Made{}, err
	}
	defer release()
	res, err := job.Run(ctx, func(ctx context.Context, path string) ([]byte, error) {
		return s.fetchMark(ctx, src, d, path)
	})
	if err != nil {
		if context.Cause(ctx) != objcache.ErrAbandoned {
			s.stats.ImagesFailed.Add(1)
		}
		return objcache.Made{}, err
	}
	s.stats.ImagesMade.Add(1)
	h := objcache.DerivedHeader(srcMeta.Header)
	delete(h, "Content-Disposition") // its file name names the source's format, not this one's
	h["Content-Type"] = []string{res.ContentType}
	h["Etag"] = []string{objcache.BodyETag(res.Body)}
	h["Vary"] = httpcache.VaryWithout(srcMeta.Header, "Accept-Encoding")
	if t.negotiated {
		httpcache.AddVary(h, "Accept")
	}
	if len(h["Vary"]) == 0 {
		delete(h, "Vary")
	}
	return objcache.Made{Meta: objcache.DerivedMeta(srcMeta, h, tag), Body: res.Body, Storable: source.Storable}, nil
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
	var rr *objcache.RelayedError
	if errors.As(err, &rr) {
		return rr.Status >= 500
	}
	return !errors.Is(err, imageproc.ErrUnprocessable) && !errors.Is(err, objcache.ErrSourceTooLarge)
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

// fetchMark gets a watermark image: a path on the image's own domain, through the cache. A URL
// can name no other host, so watermarks cannot make the edge fetch from anywhere else.
func (s *Server) fetchMark(ctx context.Context, img *http.Request, d *domain, path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || badPath(path) {
		return nil, fmt.Errorf("%w: watermark path %q", imageproc.ErrUnprocessable, path)
	}
	u := &url.URL{Path: path}
	r := img.Clone(ctx)
	r.URL, r.RequestURI = u, u.RequestURI()
	source, err := s.cache.Source(ctx, d.policy, r, d.images.limits.MaxSourceBytes)
	var rr *objcache.RelayedError
	if errors.As(err, &rr) {
		return nil, fmt.Errorf("%w: watermark %s answered %d", imageproc.ErrUnprocessable, path, rr.Status)
	}
	return source.Body, err
}
