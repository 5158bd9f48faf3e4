package config

import (
	"fmt"
	"slices"
	"time"
)

// ImageService bounds the image work of the whole process: libvips jobs run at most Workers at
// a time, at most Queue more wait, and a request beyond that is answered 503 with Retry-After
// rather than queued without bound.
type ImageService struct {
	Workers int `yaml:"workers"` // 0 = one per CPU
	Queue   int `yaml:"queue"`   // 0 = 4 per worker
}

// Compress is a domain's text compression at the edge. Each encoding of an object is made
// once and cached as its own variant.
type Compress struct {
	Enabled   bool     `yaml:"enabled"`   // true
	MinSize   Size     `yaml:"min_size"`  // 1KiB: smaller bodies are not worth a coding
	MaxSize   Size     `yaml:"max_size"`  // 8MiB: larger bodies are served as the origin sent them
	Encodings []string `yaml:"encodings"` // [br, zstd, gzip]: the codings offered, any of br, zstd, gzip
	Minify    []string `yaml:"minify"`    // none: any of html, css, js, minified before compression
}

// Images is a domain's on-the-fly image processing.
type Images struct {
	Enabled         bool         `yaml:"enabled"`           // true
	Dialects        []string     `yaml:"dialects"`          // [imgix, oss, image_process]: the URL forms understood
	AutoFormat      bool         `yaml:"auto_format"`       // false: true negotiates AVIF/WebP from Accept for every transformed image, as auto=format does
	MaxSourceBytes  Size         `yaml:"max_source_bytes"`  // 50MiB: larger sources are refused with 422
	MaxSourcePixels int64        `yaml:"max_source_pixels"` // 50000000 (50 MP), read from the header before decoding
	MaxOutputWidth  int          `yaml:"max_output_width"`  // 8192
	MaxOutputHeight int          `yaml:"max_output_height"` // 8192
	Timeout         Duration     `yaml:"timeout"`           // 10s per image (queue wait included)
	MaxCPU          Duration     `yaml:"max_cpu"`           // 5s: transforms estimated (from the source's header) to need more CPU are refused with 422; 0 = no limit
	Quality         ImageQuality `yaml:"quality"`           // per-format defaults when the URL names none
}

// ImageQuality holds default encoder qualities (1-100); 0 leaves the pipeline's default.
type ImageQuality struct {
	JPEG int `yaml:"jpeg"`
	WebP int `yaml:"webp"`
	AVIF int `yaml:"avif"`
}

// Image URL dialects.
const (
	DialectImgix        = "imgix"
	DialectOSS          = "oss"
	DialectImageProcess = "image_process"
)

func (c *Compress) setDefaults() {
	*c = Compress{Enabled: true, MinSize: 1 << 10, MaxSize: 8 << 20, Encodings: []string{"br", "zstd", "gzip"}}
}

func (im *Images) setDefaults() {
	*im = Images{
		Enabled:         true,
		Dialects:        []string{DialectImgix, DialectOSS, DialectImageProcess},
		MaxSourceBytes:  50 << 20,
		MaxSourcePixels: 50_000_000,
		MaxOutputWidth:  8192,
		MaxOutputHeight: 8192,
		Timeout:         Duration(10 * time.Second),
		MaxCPU:          Duration(5 * time.Second),
	}
}

func (s *ImageService) validate(p *problems) {
	if s.Workers < 0 {
		p.add("images.workers", fmt.Sprintf("%d must not be negative (0 = one per CPU)", s.Workers))
	}
	if s.Queue < 0 {
		p.add("images.queue", fmt.Sprintf("%d must not be negative (0 = 4 per worker)", s.Queue))
	}
}

func (c *Compress) validate(p *problems, base string) {
	if c.MaxSize < c.MinSize {
		p.add(base+".max_size", fmt.Sprintf("%d is smaller than min_size %d", c.MaxSize, c.MinSize))
	}
	checkSet(p, base+".encodings", c.Encodings, "br", "zstd", "gzip")
	checkSet(p, base+".minify", c.Minify, "html", "css", "js")
}

func (im *Images) validate(p *problems, base string) {
	checkSet(p, base+".dialects", im.Dialects, DialectImgix, DialectOSS, DialectImageProcess)
	if im.MaxSourceBytes <= 0 {
		p.add(base+".max_source_bytes", "must be positive")
	}
	if im.MaxSourcePixels <= 0 {
		p.add(base+".max_source_pixels", "must be positive")
	}
	for _, d := range []struct {
		f string
		v int
	}{{"max_output_width", im.MaxOutputWidth}, {"max_output_height", im.MaxOutputHeight}} {
		if d.v < 1 || d.v > 16384 {
			p.add(base+"."+d.f, fmt.Sprintf("%d must be from 1 to 16384", d.v))
		}
	}
	if im.Timeout <= 0 {
		p.add(base+".timeout", "must be positive")
	}
	nonNegative(p, base+".max_cpu", im.MaxCPU)
	for _, q := range []struct {
		f string
		v int
	}{{"jpeg", im.Quality.JPEG}, {"webp", im.Quality.WebP}, {"avif", im.Quality.AVIF}} {
		if q.v < 0 || q.v > 100 {
			p.add(base+".quality."+q.f, fmt.Sprintf("%d must be from 1 to 100 (0 = the default)", q.v))
		}
	}
}

// checkSet reports values outside allowed and values given twice.
func checkSet(p *problems, field string, values []string, allowed ...string) {
	for i, v := range values {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !slices.Contains(allowed, v):
			p.add(f, fmt.Sprintf("%q is not one of %v", v, allowed))
		case slices.Index(values, v) != i:
			p.add(f, fmt.Sprintf("%q is listed twice", v))
		}
	}
}
