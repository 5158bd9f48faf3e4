package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pixcdn/pixcdn/internal/compress"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
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

// encodingFor returns the content coding to answer r with from a stored 200 response m of
// size bytes, or "" to send it as it is.
func (c *compression) encodingFor(r *http.Request, m *meta, size int64) string {
	if c == nil || m.status != http.StatusOK || size < c.min || size > c.max {
		return ""
	}
	if !m.compressible() { // first: most hits of an image CDN end here, on an atomic load
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
// the stored body's type is worth a content coding.
func (m *meta) compressible() bool {
	switch m.textual.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	// RFC 9110 7.7: an intermediary must not transform a no-transform response, and a content
	// coding it adds is a transformation.
	ok := compress.CompressibleType(m.header.Get("Content-Type"), m.header.Get("Content-Encoding")) &&
		!noTransform(m.header)
	v := int32(2)
	if ok {
		v = 1
	}
	m.textual.Store(v)
	return ok
}

// noTransform reports whether Cache-Control carries no-transform.
func noTransform(h http.Header) bool {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-transform") {
				return true
			}
		}
	}
	return false
}

// serveEncoded answers from the enc coding of the stored source src (a hit, fresh or served
// stale), making and storing the coding on first use. cs is the source's Cache-Status.
func (s *Server) serveEncoded(w http.ResponseWriter, r *http.Request, d *domain, src *lookup, enc string, cs httpcache.Status) {
	names := src.m.codingNames(src.key, src.obj.Size())
	tag, key := names.tag, names.key(enc)
	if obj, m := s.variantOf(key, src.m, tag); obj != nil {
		vl := lookup{primary: src.primary, key: key, obj: obj, m: m}
		s.serveStored(w, r, &vl, cs)
		vl.release()
		return
	}
	srcObj, srcMeta := src.obj, src.m // the caller releases src after serveMade returns
	s.serveMade(w, r, key, "vary-miss", "encoded", func(context.Context) (made, error) {
		body, err := readObject(srcObj)
		if err != nil {
			return made{}, err
		}
		m, b, err := s.encodeVariant(d, srcMeta, body, enc, tag)
		return made{m: m, body: b, storable: true}, err
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

func (m *meta) codingNames(key string, size int64) *codingNames {
	if n := m.codings.Load(); n != nil {
		return n
	}
	n := &codingNames{tag: sourceTag(m, size), br: derivedKey(key, "enc:"+compress.Brotli),
		zstd: derivedKey(key, "enc:"+compress.Zstd), gzipK: derivedKey(key, "enc:"+compress.Gzip)}
	m.codings.Store(n)
	return n
}

// serveEncodedBody is serveEncoded for a source just fetched, whose whole body is in hand.
func (s *Server) serveEncodedBody(w http.ResponseWriter, r *http.Request, d *domain, base string, src *meta, body []byte, enc string, storable bool, cs httpcache.Status) {
	tag := sourceTag(src, int64(len(body)))
	key := derivedKey(base, "enc:"+enc)
	s.serveMade(w, r, key, cs.Fwd, "encoded", func(context.Context) (made, error) {
		m, b, err := s.encodeVariant(d, src, body, enc, tag)
		return made{m: m, body: b, storable: storable}, err
	})
}

// encodeVariant minifies (where configured) and encodes a source body.
func (s *Server) encodeVariant(d *domain, src *meta, body []byte, enc, tag string) (*meta, []byte, error) {
	h := derivedHeader(src.header)
	plain := d.compress.minify.Minify(h.Get("Content-Type"), body)
	var out bytes.Buffer
	out.Grow(len(plain)/3 + 64)
	if err := compress.Encode(enc, &out, plain); err != nil {
		return nil, nil, fmt.Errorf("encoding %s: %w", enc, err)
	}
	h["Content-Encoding"] = []string{enc}
	h["Etag"] = []string{bodyETag(out.Bytes())}
	addVary(h, "Accept-Encoding")
	return derivedMeta(src, h, tag), out.Bytes(), nil
}

// readObject reads a stored body whole (bounded by the caller: compression's max_size, an
// image domain's max_source_bytes).
func readObject(obj interface {
	Bytes() ([]byte, bool)
	Size() int64
	NewReader(off, n int64) (io.ReadCloser, error)
}) ([]byte, error) {
	if b, ok := obj.Bytes(); ok {
		return b, nil
	}
	rc, err := obj.NewReader(0, obj.Size())
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, obj.Size())
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("reading cached source: %w", err)
	}
	return b, nil
}
