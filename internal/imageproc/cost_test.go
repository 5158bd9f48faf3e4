package imageproc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestEstimateGrowsWithTheWork(t *testing.T) {
	photo := Header{Format: "jpeg", Width: 4000, Height: 3000, Pages: 1}
	cost := func(h Header, s Spec) Cost {
		t.Helper()
		c, err := Estimate(h, s, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	small := cost(photo, Spec{Width: 300, Format: "jpeg"})
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"larger output", Spec{Width: 2000, Format: "jpeg"}},
		{"costlier encoder", Spec{Width: 300, Format: "avif"}},
		{"sharpen", Spec{Width: 300, Format: "jpeg", Sharpen: 2}},
		{"blur", Spec{Width: 300, Format: "jpeg", Blur: 40}},
	} {
		if c := cost(photo, tc.spec); c <= small {
			t.Errorf("%s: %v, not above a 300 px JPEG's %v", tc.name, c, small)
		}
	}
	// A wide blur costs what a narrow one does (see blur), not more.
	if a, b := cost(photo, Spec{Width: 800, Blur: 6}), cost(photo, Spec{Width: 800, Blur: 250}); a != b {
		t.Errorf("blur 6: %v, blur 250: %v", a, b)
	}
	anim := Header{Format: "gif", Width: 400, Height: 400, Pages: 50}
	if a, s := cost(anim, Spec{Width: 200}), cost(Header{Format: "gif", Width: 400, Height: 400, Pages: 1}, Spec{Width: 200}); a < 40*s {
		t.Errorf("50 frames: %v, one frame %v", a, s)
	}
	if _, err := Estimate(photo, Spec{Crop: &Rect{X: 5000, Y: 0, W: 10, H: 10}}, Limits{}); !errors.Is(err, ErrUnprocessable) {
		t.Errorf("crop outside: %v", err)
	}
}

// TestCostLimitRefusesBeforeDecoding: an enlarged AVIF of the largest size is refused from
// the header, in well under the time making it would take (seconds).
func TestCostLimitRefusesBeforeDecoding(t *testing.T) {
	src := photoJPEG(t, 800, 600)
	spec := Spec{Width: 8192, Upscale: true, Format: "avif"}
	if _, err := Plan(src, spec, Limits{}); !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Plan: %v, want ErrTooCostly", err)
	}
	if _, err := Process(context.Background(), src, spec, Limits{}, nil); !errors.Is(err, ErrTooCostly) {
		t.Fatalf("Process: %v, want ErrTooCostly", err)
	}
	job, err := Plan(src, Spec{Width: 300, Format: "avif"}, Limits{})
	if err != nil || job.Cost <= 0 || job.Cost > DefaultMaxCost {
		t.Fatalf("a thumbnail: %+v, %v", job, err)
	}
	if _, err := Plan(src, spec, Limits{MaxCost: -1}); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}

// BenchmarkCostEstimate measures jobs against their estimates: est-ms/op is Estimate's, and
// cpu/est the ratio of the measured CPU to it (near 1 on the machine the rates come from).
func BenchmarkCostEstimate(b *testing.B) {
	photo := photoJPEG(b, 2000, 1500)
	alpha := alphaPNG(b, 1024, 768)
	for _, tc := range []struct {
		name string
		src  []byte
		spec Spec
	}{
		{"jpeg-300", photo, Spec{Width: 300, Format: "jpeg"}},
		{"jpeg-2000", photo, Spec{Width: 2000, Format: "jpeg"}},
		{"webp-300", photo, Spec{Width: 300, Format: "webp"}},
		{"webp-2000", photo, Spec{Width: 2000, Format: "webp"}},
		{"avif-300", photo, Spec{Width: 300, Format: "avif"}},
		{"avif-1000", photo, Spec{Width: 1000, Format: "avif"}},
		{"png-2000", photo, Spec{Width: 2000, Format: "png"}},
		{"gif-1000", photo, Spec{Width: 1000, Format: "gif"}},
		{"alpha-webp-512", alpha, Spec{Width: 512, Format: "webp"}},
		{"alpha-png-1024", alpha, Spec{Width: 1024, Format: "png"}},
		{"blur-250-1000", photo, Spec{Width: 1000, Blur: 250, Format: "jpeg"}},
		{"blur-3-2000", photo, Spec{Width: 2000, Blur: 3, Format: "jpeg"}},
		{"sharpen-10-2000", photo, Spec{Width: 2000, Sharpen: 10, Format: "jpeg"}},
		{"crop-rot-adjust", photo, Spec{Crop: &Rect{W: 1000, H: 1000}, Rotate: 90, Brightness: 10, Format: "jpeg"}},
		{"upscale-avif-3000", photo, Spec{Width: 3000, Upscale: true, Format: "avif"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			job, err := Plan(tc.src, tc.spec, Limits{MaxCost: -1})
			if err != nil {
				b.Fatal(err)
			}
			start := cpuTime()
			for b.Loop() {
				if _, err := Process(context.Background(), tc.src, tc.spec, Limits{MaxCost: -1, Timeout: time.Minute}, nil); err != nil {
					b.Fatal(err)
				}
			}
			cpu := float64(cpuTime()-start) / float64(time.Millisecond) / float64(b.N)
			b.ReportMetric(float64(job.Cost), "est-ms/op")
			b.ReportMetric(cpu/float64(job.Cost), "cpu/est")
		})
	}
}

// TestPlanThenRun: the Job Plan returns runs to the result Process gives, from the header Plan
// read (Run probes no second time), and can be run again.
func TestPlanThenRun(t *testing.T) {
	src := photoJPEG(t, 400, 300)
	spec := Spec{Width: 100, Format: "webp"}
	job, err := Plan(src, spec, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if job.head.Width != 400 || job.head.Format != "jpeg" {
		t.Fatalf("planned header %+v", job.head)
	}
	want, err := Process(context.Background(), src, spec, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := job.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Format != "webp" || got.Width != 100 || !bytes.Equal(got.Body, want.Body) {
			t.Fatalf("Run: %s %dx%d, %d bytes; Process: %d bytes", got.Format, got.Width, got.Height, len(got.Body), len(want.Body))
		}
	}
}
