package imageproc

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// Sources are generated deterministically in the tests (a fixed seed and
// the standard library's encoders), so no binary but testdata/p3.jpg (made
// by testdata/gen.sh) is committed.

var (
	photoMu    sync.Mutex
	photoCache = map[[2]int][]byte{}
)

// photoJPEG is a photo-like q90 JPEG: smooth gradients, noise, hard-edged
// shapes and a soft blob, so encoders and resamplers do realistic work (a
// flat image would encode unrealistically fast).
func photoJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	photoMu.Lock()
	defer photoMu.Unlock()
	if b, ok := photoCache[[2]int{w, h}]; ok {
		return b
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 40 + 150*fx + 30*math.Sin(fy*9)
			g := 60 + 120*fy + 25*math.Cos(fx*7)
			b := 120 + 80*math.Sin((fx+fy)*5)
			// a soft blob and hard shapes
			if d := math.Hypot(fx-0.7, fy-0.35); d < 0.15 {
				r, g, b = r+(0.15-d)*900, g+(0.15-d)*300, b-(0.15-d)*400
			}
			if (x/97+y/89)%5 == 0 && x%97 < 60 {
				r, g, b = 230, 220, 40
			}
			n := rng.NormFloat64() * 12
			img.Set(x, y, color.RGBA{clamp8(r + n), clamp8(g + n), clamp8(b + n), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	photoCache[[2]int{w, h}] = buf.Bytes()
	return buf.Bytes()
}

func clamp8(v float64) uint8 { return uint8(min(max(v, 0), 255)) }

var (
	red    = color.NRGBA{220, 30, 30, 255}
	green  = color.NRGBA{30, 200, 40, 255}
	blue   = color.NRGBA{30, 40, 210, 255}
	yellow = color.NRGBA{230, 220, 30, 255}
)

// quadrants is a w x h image in four colours: red top-left, green top-right,
// blue bottom-left, yellow bottom-right; orientation steps are checked by
// where the colours end up.
func quadrants(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := [2][2]color.NRGBA{{red, green}, {blue, yellow}}[btoi(y >= h/2)][btoi(x >= w/2)]
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flat is a w x h image of one colour.
func flat(w, h int, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// halfAlpha is opaque red on the left half, fully transparent on the right.
func halfAlpha(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if x < w/2 {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	return img
}

// withOrientation inserts an EXIF APP1 segment with the given orientation
// right after a JPEG's SOI marker.
func withOrientation(src []byte, orientation uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8))            // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1))            // one entry
	binary.Write(&tiff, binary.BigEndian, [2]uint16{0x0112, 3}) // Orientation, SHORT
	binary.Write(&tiff, binary.BigEndian, uint32(1))            // count
	binary.Write(&tiff, binary.BigEndian, [2]uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, src[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, src[2:]...)
}

// animatedGIF has three w x h frames: red, green, blue.
func animatedGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for _, c := range []color.NRGBA{red, green, blue} {
		p := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		idx := uint8(p.Palette.Index(c))
		for i := range p.Pix {
			p.Pix[i] = idx
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngBomb is a PNG header claiming w x h pixels, with one tiny IDAT: what an
// attacker's 100 KB "100 MP" file looks like to a header reader.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegBomb rewrites a small JPEG's frame header to claim w x h pixels.
func jpegBomb(t testing.TB, w, h uint16) []byte {
	src := append([]byte{}, encodeJPEG(t, flat(16, 16, red))...)
	for i := 2; i+9 < len(src); {
		if src[i] != 0xff {
			t.Fatal("bad JPEG marker walk")
		}
		marker, n := src[i+1], int(binary.BigEndian.Uint16(src[i+2:]))
		if marker == 0xc0 || marker == 0xc2 {
			binary.BigEndian.PutUint16(src[i+5:], h)
			binary.BigEndian.PutUint16(src[i+7:], w)
			return src
		}
		i += 2 + n
	}
	t.Fatal("no SOF marker")
	return nil
}

func decodePNG(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
