package demo

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
)

// landscape paints a deterministic, photo-like scene (sky gradient, sun, layered ridges with
// fractal noise, a lake with a rippled reflection) so the demo and the benchmarks have
// realistic JPEG content without shipping binary files. seed varies the scene.
func landscape(w, h int, seed float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	horizon := 0.62
	sunX, sunY := 0.68+0.1*math.Sin(seed), 0.28
	// The ridges depend on x alone: compute their heights once per column.
	ridges := make([][3]float64, w)
	for x := range ridges {
		fx := float64(x) / float64(w)
		for layer := range 3 {
			ridges[x][layer] = horizon - 0.08 - 0.07*float64(2-layer) + 0.06*fbm(fx*3+float64(layer)*7+seed, seed+float64(layer))
		}
	}
	for y := 0; y < h; y++ {
		fy := float64(y) / float64(h)
		for x := 0; x < w; x++ {
			fx := float64(x) / float64(w)
			var r, g, b float64
			switch {
			case fy >= horizon:
				// Water: the mirrored sky, darker, with ripples.
				my := 2*horizon - fy + 0.004*math.Sin(fy*400+fx*30)
				r, g, b = sky(fx, my, sunX, sunY, seed)
				r, g, b = r*0.55+10, g*0.6+20, b*0.7+30
			case fy > ridges[x][0] || fy > ridges[x][1] || fy > ridges[x][2]:
				layer := 0
				for l := 2; l >= 0; l-- {
					if fy > ridges[x][l] {
						layer = l
						break
					}
				}
				shade := 0.25 + 0.18*float64(layer)
				n := fbm(fx*40+seed, fy*40)
				r, g, b = shade*60+20*n, shade*90+30*n, shade*70+25*n
			default:
				r, g, b = sky(fx, fy, sunX, sunY, seed)
			}
			grain := (hash(float64(x), float64(y), seed) - 0.5) * 10
			img.SetRGBA(x, y, color.RGBA{clamp(r + grain), clamp(g + grain), clamp(b + grain), 255})
		}
	}
	return img
}

func sky(fx, fy, sunX, sunY, seed float64) (r, g, b float64) {
	r, g, b = 90+140*fy, 140+80*fy, 230-40*fy
	d := math.Hypot(fx-sunX, (fy-sunY)*0.75)
	glow := math.Exp(-d * 9)
	r, g, b = r+200*glow, g+160*glow, b+60*glow
	cloud := fbm(fx*6+seed, fy*14)
	if cloud > 0.55 {
		c := (cloud - 0.55) * 2.2
		r, g, b = r+(255-r)*c, g+(255-g)*c, b+(255-b)*c
	}
	return r, g, b
}

// fbm is fractal value noise in [0, 1).
func fbm(x, y float64) float64 {
	sum, amp, norm := 0.0, 0.5, 0.0
	for i := 0; i < 5; i++ {
		sum += amp * valueNoise(x, y)
		norm += amp
		x, y, amp = x*2.03, y*2.03, amp*0.5
	}
	return sum / norm
}

func valueNoise(x, y float64) float64 {
	x0, y0 := math.Floor(x), math.Floor(y)
	tx, ty := smooth(x-x0), smooth(y-y0)
	a, b := hash(x0, y0, 0), hash(x0+1, y0, 0)
	c, d := hash(x0, y0+1, 0), hash(x0+1, y0+1, 0)
	return a + (b-a)*tx + (c-a)*ty + (a-b-c+d)*tx*ty
}

func smooth(t float64) float64 { return t * t * (3 - 2*t) }

// hash maps a lattice point to [0, 1) with integer mixing (cheaper than the classic sin trick).
func hash(x, y, z float64) float64 {
	h := uint64(int64(x))*0x9E3779B97F4A7C15 ^ uint64(int64(y))*0xC2B2AE3D27D4EB4F ^ math.Float64bits(z)
	h ^= h >> 31
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 29
	return float64(h>>11) / (1 << 53)
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// badge paints an RGBA logo-like image with a transparent background, for PNG-with-alpha cases.
func badge(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, rad := float64(w)/2, float64(h)/2, math.Min(float64(w), float64(h))*0.42
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy)
			if d > rad {
				continue
			}
			edge := math.Min(1, (rad-d)/2) // anti-aliased rim
			angle := math.Atan2(float64(y)-cy, float64(x)-cx)
			r := 128 + 127*math.Sin(angle*3)
			g := 128 + 127*math.Sin(angle*3+2.1)
			b := 128 + 127*math.Sin(angle*3+4.2)
			img.SetNRGBA(x, y, color.NRGBA{clamp(r), clamp(g), clamp(b), uint8(255 * edge * (0.6 + 0.4*d/rad))})
		}
	}
	return img
}

func writeJPEG(w io.Writer, img image.Image) error {
	return jpeg.Encode(w, img, &jpeg.Options{Quality: 88})
}
func writePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
