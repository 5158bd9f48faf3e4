package demo

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/pixcdn/pixcdn/internal/config"
)

func TestPaintedImagesDecode(t *testing.T) {
	for _, tc := range []struct {
		paint  func() image.Image
		format string
		png    bool
	}{
		{func() image.Image { return landscape(160, 120, 1) }, "jpeg", false},
		{func() image.Image { return badge(64, 48) }, "png", true},
	} {
		var buf bytes.Buffer
		var err error
		if tc.png {
			err = writePNG(&buf, tc.paint())
		} else {
			err = writeJPEG(&buf, tc.paint())
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(&buf)
		if err != nil || format != tc.format || cfg.Width == 0 {
			t.Fatalf("decode: %v %s %+v", err, format, cfg)
		}
	}
}

func TestLandscapeIsDeterministic(t *testing.T) {
	a, b := landscape(64, 48, 3), landscape(64, 48, 3)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same seed painted different pixels")
	}
	if bytes.Equal(a.Pix, landscape(64, 48, 4).Pix) {
		t.Fatal("different seeds painted the same picture")
	}
}

func TestWriteSiteAndConfig(t *testing.T) {
	dir := t.TempDir()
	// Images already present are kept: stand-ins make this test skip the painting.
	for _, im := range Images {
		p := filepath.Join(dir, filepath.FromSlash(im.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("stand-in"), 0o644)
	}
	if err := WriteSite(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "style.css", "app.js"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(Config("127.0.0.1:0", dir, filepath.Join(dir, "cache")), "(demo)")
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Domains[0].Rule("/img/a.jpg"); r == nil || r.TTL.D().Hours() != 1 {
		t.Fatalf("image rule: %+v", r)
	}
}
