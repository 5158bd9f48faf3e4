package imageproc

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// psnr compares two images of one size over their RGB channels, in dB.
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("sizes differ: %v, %v", a.Bounds(), b.Bounds())
	}
	var sum float64
	n := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				sum += d * d
				n++
			}
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

// TestWideBlurMatchesDirect: a blur wider than directBlurSigma, computed on a shrunk frame,
// gives the picture libvips' full-size Gaussian gives.
func TestWideBlurMatchesDirect(t *testing.T) {
	src := photoJPEG(t, 480, 360)
	for _, sigma := range []float64{6, 12, 40} {
		direct, err := vips.Load(src, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := direct.ToSRGB(); err != nil {
			t.Fatal(err)
		}
		if err := direct.Blur(sigma); err != nil {
			t.Fatal(err)
		}
		want, err := direct.Save(vips.SaveOptions{Format: "png", Effort: 1})
		direct.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Process(context.Background(), src, Spec{Blur: sigma, Format: "png"}, Limits{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := decodePNG(want)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodePNG(got.Body)
		if err != nil {
			t.Fatal(err)
		}
		if db := psnr(t, a, b); db < 40 {
			t.Errorf("sigma %v: %.1f dB from the full-size blur, want >= 40", sigma, db)
		} else {
			t.Logf("sigma %v: %.1f dB", sigma, db)
		}
	}
}
