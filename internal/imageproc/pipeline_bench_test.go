package imageproc

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// TestMain lets a benchmark run choose libvips' threads per image
// (PIXCDN_VIPS_CONCURRENCY=2 go test -bench ...) to compare CPU per image.
func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv("PIXCDN_VIPS_CONCURRENCY")); err == nil {
		if err := vips.Init(vips.Config{Concurrency: n}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// alphaPNG is a photo-like RGBA PNG whose alpha fades out towards the
// corners, as product cut-outs and logos have.
func alphaPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	photo, err := vips.Load(photoJPEG(t, w, h), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer photo.Close()
	png, err := photo.Save(vips.SaveOptions{Format: "png", Effort: 1})
	if err != nil {
		t.Fatal(err)
	}
	src, err := decodePNG(png)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(src.Bounds())
	for y := range h {
		for x := range w {
			r, g, b, _ := src.At(x, y).RGBA()
			d := math.Hypot(float64(x-w/2)/float64(w), float64(y-h/2)/float64(h))
			img.SetNRGBA(x, y, color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), clamp8(255 * (1 - 2*d))})
		}
	}
	return encodePNG(t, img)
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchProcess(b *testing.B, src []byte, spec Spec) {
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	var size int
	start := cpuTime()
	for b.Loop() {
		res, err := Process(context.Background(), src, spec, Limits{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = len(res.Body)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size), "out-bytes")
}

// The four workloads of the image issue.
func BenchmarkPhotoToJPEG300(b *testing.B) {
	benchProcess(b, photoJPEG(b, 2000, 1500), Spec{Width: 300, Format: "jpeg"})
}

func BenchmarkPhotoToWebP300(b *testing.B) {
	benchProcess(b, photoJPEG(b, 2000, 1500), Spec{Width: 300, Format: "webp"})
}

func BenchmarkPhotoToAVIF300(b *testing.B) {
	benchProcess(b, photoJPEG(b, 2000, 1500), Spec{Width: 300, Format: "avif"})
}

func BenchmarkAlphaPNGToWebP512(b *testing.B) {
	benchProcess(b, alphaPNG(b, 1024, 768), Spec{Width: 512, Format: "webp"})
}

// BenchmarkAVIFEffort compares libvips' heif effort levels for on-the-fly
// AVIF (the size metric shows what the CPU buys).
func BenchmarkAVIFEffort(b *testing.B) {
	src := photoJPEG(b, 2000, 1500)
	saved := effort["avif"]
	defer func() { effort["avif"] = saved }()
	for _, e := range []int{0, 2, 4} {
		b.Run("effort="+strconv.Itoa(e), func(b *testing.B) {
			effort["avif"] = e
			benchProcess(b, src, Spec{Width: 300, Format: "avif"})
		})
	}
}

// BenchmarkParallel runs the JPEG workload on every core, one job per
// goroutine, as the edge does behind its Limiter.
func BenchmarkParallelPhotoToJPEG300(b *testing.B) {
	src := photoJPEG(b, 2000, 1500)
	b.ReportAllocs()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Process(context.Background(), src, Spec{Width: 300, Format: "jpeg"}, Limits{}, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// TestWriteBenchSources writes the benchmark sources to the directory named
// by PIXCDN_BENCH_SOURCES, to time the vips CLI on the same bytes.
func TestWriteBenchSources(t *testing.T) {
	dir := os.Getenv("PIXCDN_BENCH_SOURCES")
	if dir == "" {
		t.Skip("set PIXCDN_BENCH_SOURCES=dir to write the benchmark sources")
	}
	for name, b := range map[string][]byte{"photo.jpg": photoJPEG(t, 2000, 1500), "alpha.png": alphaPNG(t, 1024, 768)} {
		if err := os.WriteFile(dir+"/"+name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkBlurSigma: a wide blur costs what a narrow one does (see blur), on an 800x600 JPEG.
func BenchmarkBlurSigma(b *testing.B) {
	src := photoJPEG(b, 800, 600)
	for _, sigma := range []float64{2, 20, 60, 250} {
		b.Run(fmt.Sprintf("sigma%g", sigma), func(b *testing.B) { benchProcess(b, src, Spec{Blur: sigma, Format: "jpeg"}) })
	}
}
