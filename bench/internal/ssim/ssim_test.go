package ssim

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// noisy is a deterministic textured image: a gradient plus uniform noise of amplitude amp.
func noisy(w, h int, seed uint64, amp int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for y := range h {
		for x := range w {
			v := func(base int) uint8 { return uint8(min(max(base+r.IntN(2*amp+1)-amp, 0), 255)) }
			img.Set(x, y, color.RGBA{v(x * 4 % 256), v(y * 4 % 256), v(128), 255})
		}
	}
	return img
}

func TestSSIM(t *testing.T) {
	ref := noisy(64, 48, 1, 10)
	slightly := noisy(64, 48, 1, 10)
	for i := range slightly.Pix {
		if i%4 != 3 && i%7 == 0 {
			slightly.Pix[i] ^= 1 // flip the lowest bit of some samples
		}
	}
	tests := []struct {
		name   string
		img    image.Image
		lo, hi float64
	}{
		{"identical", ref, 1, 1},
		{"lowest bits", slightly, 0.98, 0.99999},
		{"other noise", noisy(64, 48, 2, 10), 0.3, 0.9},
		{"flat grey", image.NewUniform(color.Gray{128}), -1, 0.5},
	}
	for _, tt := range tests {
		img := tt.img
		if u, ok := img.(*image.Uniform); ok {
			m := image.NewRGBA(ref.Bounds())
			for i := range m.Pix {
				m.Pix[i] = map[bool]uint8{true: 255, false: u.C.(color.Gray).Y}[i%4 == 3]
			}
			img = m
		}
		s, err := SSIM(ref, img)
		if err != nil {
			t.Fatal(err)
		}
		if m := s.Mean(); m < tt.lo-1e-9 || m > tt.hi+1e-9 {
			t.Errorf("%s: SSIM %.5f (%v), want in [%v, %v]", tt.name, m, s, tt.lo, tt.hi)
		}
	}
}

func TestSSIMRejects(t *testing.T) {
	if _, err := SSIM(noisy(64, 48, 1, 5), noisy(48, 64, 1, 5)); err == nil {
		t.Error("different sizes accepted")
	}
	if _, err := SSIM(noisy(8, 8, 1, 5), noisy(8, 8, 1, 5)); err == nil {
		t.Error("image smaller than the window accepted")
	}
}

func TestKernelNormalised(t *testing.T) {
	var s float64
	for _, k := range kernel {
		s += k
	}
	if math.Abs(s-1) > 1e-12 || kernel[5] <= kernel[4] {
		t.Errorf("kernel sum %v, centre %v", s, kernel[5])
	}
}
