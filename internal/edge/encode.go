package edge

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/pixcdn/pixcdn/internal/compress"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
)

// compression is a domain's text compression, built from its configuration. A nil
// *compression compresses nothing.
type compression struct {
	min, max int64
	neg      *compress.Negotiator
	minify   *compress.Minifier
}

func newCompression(c *config.Compress) *compression {
	if !c.Enabled || len(c.Encodings) == 0 {
		return nil
	}
	return &compression{min: int64(c.MinSize), max: int64(c.MaxSize), neg: compress.NewNegotiator(c.Encodings), minify: compress.NewMinifier(c.Minify)}
}

// Slots of a stored record's Meta that the edge fills once per record.
const (
	slotTextual objcache.Slot = iota // Flag: the body's type is worth a content coding
	slotCodings                      // Lazy *codingNames: the keys of the record's codings
	slotFields                       // Lazy *storedFields: the stored header, serialized (respond.go)
)

// encodingFor returns the content coding to answer r with from a stored 200 response m of
// size bytes, or "" to send it as it is.
func (c *compression) encodingFor(r *http.Request, m *objcache.Meta, size int64) string {
	if c == nil || m.Status != http.StatusOK || size < c.min || size > c.max {
		return ""
	}
	if !compressible(m) { // first: most hits of an image CDN end here, on an atomic load
		return ""
	}
	ae := r.Header["Accept-Encoding"]
	if len(ae) == 0 {
		return ""
	}
	v := ae[0]
	if len(ae) > 1 {
		v = strings.Join(ae, ",")
	}
	return c.neg.Choose(v)
}

// compressible reports (and remembers on the meta, which the memo shares between hits) whether
// the stored body's type is worth a content coding. RFC 9110 7.7: an intermediary must not
// transform a no-transform response, and a content coding it adds is a transformation.
func compressible(m *objcache.Meta) bool {
	return m.Flag(slotTextual, func() bool {
		return compress.CompressibleType(m.Header.Get("Content-Type"), m.Header.Get("Content-Encoding")) && !httpcache.NoTransform(m.Header)
	})
}

// serveEncoded answers from the enc coding of the stored source in src (a hit, fresh or served
// stale), making and storing the coding on first use. src.Status is the source's Cache-Status.
func (s *Server) serveEncoded(w http.ResponseWriter, r *http.Request, d *domain, src *objcache.Result, enc string) error {
	names := codingsOf(src.Meta, src.Key, src.Body.Size)
	tag, key := names.tag, names.key(enc)
	if v := s.cache.Variant(key, src.Meta, tag); v.Obj != nil {
		body := objcache.Body{Obj: v.Obj, Size: v.Obj.Size()}
		err := s.respond(w, r, v.Meta, &body, src.Status, true)
		v.Release()
		return err
	}
	srcObj, srcMeta := src.Body.Obj, src.Meta // the caller releases src after serveMade returns
	return s.serveMade(w, r, key, "vary-miss", "encoded", func(context.Context) (objcache.Made, error) {
		body, err := objcache.ReadObject(srcObj)
		if err != nil {
			return objcache.Made{}, err
		}
		m, b, err := s.encodeVariant(d, srcMeta, body, enc, tag)
		return objcache.Made{Meta: m, Body: b, Storable: true}, err
	})
}

// codingNames are the source tag and the codings' keys of one stored source, built on its
// first encoded hit and kept on the (memoised) meta, so later hits build no strings.
type codingNames struct {
	tag             string
	br, zstd, gzipK string
}

func (n *codingNames) key(enc string) string {
	switch enc {
	case compress.Brotli:
		return n.br
	case compress.Zstd:
		return n.zstd
	}
	return n.gzipK
}

func codingsOf(m *objcache.Meta, key string, size int64) *codingNames {
	return m.Lazy(slotCodings, func() any {
		return &codingNames{tag: objcache.SourceTag(m, size), br: objcache.DerivedKey(key, "enc:"+compress.Brotli),
			zstd: objcache.DerivedKey(key, "enc:"+compress.Zstd), gzipK: objcache.DerivedKey(key, "enc:"+compress.Gzip)}
	}).(*codingNames)
}

// serveEncodedBody is serveEncoded for a source just fetched, whose whole body is in hand.
func (s *Server) serveEncodedBody(w http.ResponseWriter, r *http.Request, d *domain, src *objcache.Result, enc string) error {
	body := src.Body.Bytes
	tag := objcache.SourceTag(src.Meta, int64(len(body)))
	key := objcache.DerivedKey(src.Key, "enc:"+enc)
	storable := src.Status.Stored
	return s.serveMade(w, r, key, src.Status.Fwd, "encoded", func(context.Context) (objcache.Made, error) {
		m, b, err := s.encodeVariant(d, src.Meta, body, enc, tag)
		return objcache.Made{Meta: m, Body: b, Storable: storable}, err
	})
}

// encodeVariant minifies (where configured) and encodes a source body.
func (s *Server) encodeVariant(d *domain, src *objcache.Meta, body []byte, enc, tag string) (*objcache.Meta, []byte, error) {
	h := objcache.DerivedHeader(src.Header)
	plain := d.compress.minify.Minify(h.Get("Content-Type"), body)
	var out bytes.Buffer
	out.Grow(len(plain)/3 + 64)
	if err := compress.Encode(enc, &out, plain); err != nil {
		return nil, nil, fmt.Errorf("encoding %s: %w", enc, err)
	}
	h["Content-Encoding"] = []string{enc}
	h["Etag"] = []string{objcache.BodyETag(out.Bytes())}
	httpcache.AddVary(h, "Accept-Encoding")
	return objcache.DerivedMeta(src, h, tag), out.Bytes(), nil
}
