package compress

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Levels used for on-the-fly encoding. The edge encodes each object once per
// coding and caches the result, but the first request waits for it, so the
// levels trade a little ratio for speed:
//   - brotli 5: most of brotli's advantage over gzip at several times the
//     speed of levels 9-11 (which are for build-time precompression);
//   - zstd SpeedDefault (zstd level 3): zstd's own default, faster than gzip
//     at a better ratio;
//   - gzip 6: zlib's default, the usual ratio/speed balance for gzip.
const (
	BrotliLevel = 5
	ZstdLevel   = zstd.SpeedDefault
	GzipLevel   = gzip.DefaultCompression
)

// ErrUnknownEncoding is returned for a coding this package does not produce.
var ErrUnknownEncoding = errors.New("compress: unknown encoding")

// errClosed is returned by Write after Close.
var errClosed = errors.New("compress: write after close")

// Encode writes src to dst encoded with enc (one of Brotli, Zstd, Gzip or
// Identity). dst receives a complete encoded stream or an error.
func Encode(enc string, dst io.Writer, src []byte) error {
	w, err := NewWriter(enc, dst)
	if err != nil {
		return err
	}
	if _, err := w.Write(src); err != nil {
		_ = w.Close() // return the writer to its pool; the write error is the one to report
		return fmt.Errorf("compress: encode %s: %w", enc, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("compress: encode %s: %w", enc, err)
	}
	return nil
}

// NewWriter returns a writer that encodes to dst with enc. The caller must
// Close it to flush the stream's end; Close does not close dst. Encoders are
// pooled, so after Close the writer must not be used again. A writer is not
// safe for concurrent use; distinct writers are.
func NewWriter(enc string, dst io.Writer) (io.WriteCloser, error) {
	var (
		e   resettable
		err error
	)
	switch enc {
	case Brotli:
		e = brotliPool.Get().(*brotli.Writer)
	case Gzip:
		e = gzipPool.Get().(*gzip.Writer)
	case Zstd:
		e, err = getZstd()
	case Identity:
		return nopCloser{dst}, nil
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEncoding, enc)
	}
	if err != nil {
		return nil, err
	}
	e.Reset(dst)
	return &pooledWriter{enc: enc, w: e}, nil
}

// resettable is what the three libraries' streaming encoders have in common.
type resettable interface {
	io.WriteCloser
	Reset(io.Writer)
}

var (
	brotliPool = sync.Pool{New: func() any { return brotli.NewWriterLevel(io.Discard, BrotliLevel) }}
	gzipPool   = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, GzipLevel) // the level is a valid constant
		return w
	}}
	zstdPool sync.Pool
)

// getZstd takes a pooled zstd encoder or builds one. Concurrency 1 keeps each
// encoder synchronous and small: parallelism comes from concurrent requests.
func getZstd() (resettable, error) {
	if z, ok := zstdPool.Get().(*zstd.Encoder); ok {
		return z, nil
	}
	z, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(ZstdLevel), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("compress: new zstd encoder: %w", err)
	}
	return z, nil
}

// pooledWriter returns its encoder to the pool on Close, once.
type pooledWriter struct {
	enc string
	w   resettable
}

var (
	_ io.WriteCloser = (*pooledWriter)(nil)
	_ resettable     = (*brotli.Writer)(nil)
	_ resettable     = (*gzip.Writer)(nil)
	_ resettable     = (*zstd.Encoder)(nil)
)

func (p *pooledWriter) Write(b []byte) (int, error) {
	if p.w == nil {
		return 0, errClosed
	}
	return p.w.Write(b)
}

// Close ends the stream. An encoder whose Close failed is dropped rather than
// pooled, since its state is unknown.
func (p *pooledWriter) Close() error {
	if p.w == nil {
		return nil
	}
	w := p.w
	p.w = nil
	if err := w.Close(); err != nil {
		return err
	}
	switch p.enc {
	case Brotli:
		brotliPool.Put(w)
	case Gzip:
		gzipPool.Put(w)
	case Zstd:
		zstdPool.Put(w)
	}
	return nil
}

// nopCloser is the Identity writer: Close must not close dst.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
