// Package demo is pixcdn's all-in-one default: a sample site (a page, CSS, JS and photo-like
// images the package paints itself) and the configuration of an edge in front of it, so that
// `pixcdn demo` needs no setup at all.
package demo

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed site
var site embed.FS

// Image is one generated sample image.
type Image struct {
	Name          string
	Width, Height int
	paint         func() image.Image
	png           bool
}

// Images are the sample images, from a large photo down to a thumbnail, plus a PNG with alpha.
var Images = []Image{
	{Name: "img/lake-2000x1500.jpg", Width: 2000, Height: 1500, paint: func() image.Image { return landscape(2000, 1500, 1) }},
	{Name: "img/ridge-1600x1067.jpg", Width: 1600, Height: 1067, paint: func() image.Image { return landscape(1600, 1067, 2.5) }},
	{Name: "img/dusk-1200x800.jpg", Width: 1200, Height: 800, paint: func() image.Image { return landscape(1200, 800, 4) }},
	{Name: "img/shore-640x480.jpg", Width: 640, Height: 480, paint: func() image.Image { return landscape(640, 480, 5.5) }},
	{Name: "img/thumb-320x240.jpg", Width: 320, Height: 240, paint: func() image.Image { return landscape(320, 240, 7) }},
	{Name: "img/badge-1024x768.png", Width: 1024, Height: 768, paint: func() image.Image { return badge(1024, 768) }, png: true},
}

// WriteSite writes the sample site into dir: the embedded page, CSS and JS, and the images,
// painted once (an image already present is kept, so restarts are quick).
func WriteSite(dir string) error {
	err := fs.WalkDir(site, "site", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := site.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, strings.TrimPrefix(p, "site/")), b)
	})
	if err != nil {
		return err
	}
	for _, im := range Images {
		dst := filepath.Join(dir, filepath.FromSlash(im.Name))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		var buf bytes.Buffer
		if im.png {
			err = writePNG(&buf, im.paint())
		} else {
			err = writeJPEG(&buf, im.paint())
		}
		if err != nil {
			return fmt.Errorf("painting %s: %w", im.Name, err)
		}
		if err := writeFile(dst, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes atomically (temp file + rename), so a half-written file is never served.
func writeFile(dst string, b []byte) error {
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
		return nil // unchanged: keep its mtime, and with it the cache's validators
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// Config returns the demo edge's configuration: one catch-all domain in front of siteDir,
// with cache rules that keep the static files an hour and the page a minute.
func Config(listen, siteDir, cacheDir string) []byte {
	return fmt.Appendf(nil, `# pixcdn demo: an edge in front of the bundled sample site.
node_name: pixcdn-demo
listen: %q
cache:
  dir: %q
  memory_size: 64MiB
  disk_size: 1GiB
  segment_size: 16MiB
domains:
  - name: "*"
    server_timing: true # the sample page reads each load's Cache-Status
    origin:
      root: %q
    cache:
      rules:
        - extensions: [".css", ".js", ".jpg", ".png"]
          ttl: 1h
          priority: 10
        - prefix: "/"
          ttl: 1m
`, listen, cacheDir, siteDir)
}
