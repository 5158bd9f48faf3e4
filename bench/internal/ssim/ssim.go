// Package ssim computes the structural similarity (SSIM, Wang et al. 2004: 11x11 Gaussian
// window, sigma 1.5, K1 0.01, K2 0.03, L 255) of two images of the same size, per R, G and B
// channel, for the benchmark programs that check encoder quality (bench/cmd/imgssim,
// bench/cmd/imgcmp).
package ssim

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
)

// Channels is the SSIM of the R, G and B channels.
type Channels [3]float64

// Mean is the average of the three channels' SSIM.
func (c Channels) Mean() float64 { return (c[0] + c[1] + c[2]) / 3 }

// SSIM compares a and b channel by channel; alpha is ignored (both are read as if composited
// on nothing: the 8-bit colour values straight from RGBA).
func SSIM(a, b image.Image) (Channels, error) {
	ra, rb := a.Bounds(), b.Bounds()
	if ra.Dx() != rb.Dx() || ra.Dy() != rb.Dy() {
		return Channels{}, fmt.Errorf("sizes differ: %dx%d vs %dx%d", ra.Dx(), ra.Dy(), rb.Dx(), rb.Dy())
	}
	if ra.Dx() < 11 || ra.Dy() < 11 {
		return Channels{}, fmt.Errorf("image %dx%d smaller than the 11x11 window", ra.Dx(), ra.Dy())
	}
	var c Channels
	for ch := range 3 {
		c[ch] = ssimPlane(plane(a, ch), plane(b, ch))
	}
	return c, nil
}

// gray is one channel as floats, row-major.
type gray struct {
	w, h int
	p    []float64
}

func plane(img image.Image, ch int) gray {
	r := img.Bounds()
	g := gray{w: r.Dx(), h: r.Dy(), p: make([]float64, r.Dx()*r.Dy())}
	for y := range g.h {
		for x := range g.w {
			rr, gg, bb, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
			v := [3]uint32{rr, gg, bb}[ch]
			g.p[y*g.w+x] = float64(v >> 8)
		}
	}
	return g
}

// ssimPlane is the mean SSIM over every full 11x11 window ("valid" filtering, as the
// reference implementation does).
func ssimPlane(x, y gray) float64 {
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	xx, yy, xy := mul(x, x), mul(y, y), mul(x, y)
	mx, my := blur(x), blur(y)
	sxx, syy, sxy := blur(xx), blur(yy), blur(xy)
	var sum float64
	for i := range mx.p {
		ux, uy := mx.p[i], my.p[i]
		vx, vy, cov := sxx.p[i]-ux*ux, syy.p[i]-uy*uy, sxy.p[i]-ux*uy
		sum += (2*ux*uy + c1) * (2*cov + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
	}
	return sum / float64(len(mx.p))
}

func mul(a, b gray) gray {
	out := gray{w: a.w, h: a.h, p: make([]float64, len(a.p))}
	for i := range a.p {
		out.p[i] = a.p[i] * b.p[i]
	}
	return out
}

// kernel is the normalised 11-tap Gaussian, sigma 1.5.
var kernel = func() [11]float64 {
	var k [11]float64
	var s float64
	for i := range k {
		d := float64(i - 5)
		k[i] = math.Exp(-d * d / (2 * 1.5 * 1.5))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	return k
}()

// blur filters g with the separable Gaussian, keeping only the positions where the whole
// window fits (the result is 10 pixels narrower and shorter).
func blur(g gray) gray {
	w, h := g.w-10, g.h-10
	tmp := make([]float64, w*g.h)
	for y := range g.h {
		for x := range w {
			var s float64
			for k, kv := range kernel {
				s += kv * g.p[y*g.w+x+k]
			}
			tmp[y*w+x] = s
		}
	}
	out := gray{w: w, h: h, p: make([]float64, w*h)}
	for y := range h {
		for x := range w {
			var s float64
			for k, kv := range kernel {
				s += kv * tmp[(y+k)*w+x]
			}
			out.p[y*w+x] = s
		}
	}
	return out
}

// ReadPNG decodes a PNG file (other formats are decoded to PNG first, e.g. vips copy x.avif
// x.png).
func ReadPNG(name string) (image.Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return img, nil
}
