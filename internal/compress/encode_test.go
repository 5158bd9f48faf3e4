package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// cssLike builds about n bytes of stylesheet text, varied enough that the
// ratio is not flattered by pure repetition.
func cssLike(n int) []byte {
	var b bytes.Buffer
	props := []string{"margin", "padding", "color", "background-color", "font-size", "line-height", "border"}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, ".c%d-%s > .item:hover {\n", i, props[i%len(props)])
		for j := range 3 {
			p := props[(i*3+j)%len(props)]
			fmt.Fprintf(&b, "  %s: %dpx #%06x;\n", p, (i*7+j)%97, (i*2654435761+j)&0xffffff)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()[:n]
}

func decode(t testing.TB, enc string, data []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(data))
	case Gzip:
		gr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("gzip reader: %v", err)
		}
		r = gr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("zstd reader: %v", err)
		}
		defer zr.Close()
		r = zr
	case Identity:
		r = bytes.NewReader(data)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return out
}

var allEncodings = []string{Brotli, Zstd, Gzip, Identity}

func TestEncodeRoundTrip(t *testing.T) {
	inputs := map[string][]byte{"empty": {}, "small": []byte("body{}"), "css": cssLike(50 << 10)}
	for _, enc := range allEncodings {
		for name, src := range inputs {
			t.Run(enc+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Encode(enc, &buf, src); err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if got := decode(t, enc, buf.Bytes()); !bytes.Equal(got, src) {
					t.Fatalf("round trip differs: got %d bytes, want %d", len(got), len(src))
				}
				if enc != Identity && name == "css" && buf.Len() > len(src)/3 {
					t.Errorf("%s: %d -> %d bytes, expected at least 3x", enc, len(src), buf.Len())
				}
			})
		}
	}
}

// TestNewWriterStreaming writes in uneven chunks and reuses pooled encoders
// across several streams, which would expose state leaking between them.
func TestNewWriterStreaming(t *testing.T) {
	src := cssLike(20 << 10)
	for _, enc := range allEncodings {
		for round := range 3 {
			var buf bytes.Buffer
			w, err := NewWriter(enc, &buf)
			if err != nil {
				t.Fatalf("NewWriter(%q): %v", enc, err)
			}
			for rest := src; len(rest) > 0; {
				n := min(len(rest), 1+round*777)
				if _, err := w.Write(rest[:n]); err != nil {
					t.Fatalf("%s write: %v", enc, err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatalf("%s close: %v", enc, err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("%s second close: %v", enc, err)
			}
			if enc != Identity {
				if _, err := w.Write([]byte("x")); !errors.Is(err, errClosed) {
					t.Fatalf("%s write after close: %v, want errClosed", enc, err)
				}
			}
			if got := decode(t, enc, buf.Bytes()); !bytes.Equal(got, src) {
				t.Fatalf("%s round %d: round trip differs", enc, round)
			}
		}
	}
}

func TestEncodeConcurrent(t *testing.T) {
	src := cssLike(8 << 10)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		enc := allEncodings[i%len(allEncodings)]
		wg.Go(func() {
			var buf bytes.Buffer
			if err := Encode(enc, &buf, src); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(decode(t, enc, buf.Bytes()), src) {
				errs <- fmt.Errorf("%s: round trip differs", enc)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUnknownEncoding(t *testing.T) {
	for _, enc := range []string{"deflate", "BR", "identity", "*"} {
		if _, err := NewWriter(enc, io.Discard); !errors.Is(err, ErrUnknownEncoding) {
			t.Errorf("NewWriter(%q) error = %v, want ErrUnknownEncoding", enc, err)
		}
		if err := Encode(enc, io.Discard, []byte("x")); !errors.Is(err, ErrUnknownEncoding) {
			t.Errorf("Encode(%q) error = %v, want ErrUnknownEncoding", enc, err)
		}
	}
}

type failWriter struct{}

var errSink = errors.New("sink broken")

func (failWriter) Write([]byte) (int, error) { return 0, errSink }

func TestEncodeReportsWriteError(t *testing.T) {
	src := cssLike(200 << 10)
	for _, enc := range allEncodings {
		if err := Encode(enc, failWriter{}, src); !errors.Is(err, errSink) {
			t.Errorf("Encode(%q) to a broken writer: %v, want errSink", enc, err)
		}
	}
}

func benchmarkEncode(b *testing.B, enc string) {
	src := cssLike(50 << 10)
	var buf bytes.Buffer
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Encode(enc, &buf, src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(src))/float64(buf.Len()), "ratio")
}

func BenchmarkEncodeBrotli(b *testing.B) { benchmarkEncode(b, Brotli) }
func BenchmarkEncodeZstd(b *testing.B)   { benchmarkEncode(b, Zstd) }
func BenchmarkEncodeGzip(b *testing.B)   { benchmarkEncode(b, Gzip) }
