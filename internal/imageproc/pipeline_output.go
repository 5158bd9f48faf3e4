package imageproc

import (
	"fmt"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// Default qualities. JPEG and WebP 80 match imgix's defaults. AVIF 60: on
// the benchmark photo resized to 300 px, AVIF Q60 (effort 2) has the PSNR of
// JPEG Q80 (28.60 vs 28.63 dB) at a third of the bytes (3886 vs 11724); Q50
// falls below it (28.35 dB). Compress lowers each by 10 (imgix's
// auto=compress).
var defaultQuality = map[string]int{"jpeg": 80, "webp": 80, "avif": 60}

// Encoder efforts chosen for encoding on the fly (see the benchmarks in
// pipeline_bench_test.go): AVIF effort 2 of 0..9 (libaom cpu-used 7) costs a
// fraction of the default 4 for a few percent more bytes.
var effort = map[string]int{"png": 6, "webp": 4, "avif": 2, "gif": 4}

// progressiveMinPixels: a JPEG output larger than this is progressive, a smaller one baseline.
// Progressive scans carry their own Huffman tables, which a thumbnail does not earn back: at
// 300x225 (q80) the demo photo's progressive JPEG is 5 % larger than its baseline one and a
// grainy photo's 0.4 % smaller, while encoding it costs 1-2 ms more, 5-8 % of the whole job;
// from about 500 px wide progressive is smaller on grainy photos (2-3 %) and renders coarse
// to fine while it loads, which only large images show. imgproxy saves baseline by default.
const progressiveMinPixels = 100_000

// CompressedQuality is the quality auto=compress gives a default quality q (the pipeline's
// own, or one a domain configures): 10 lower, at least 1.
func CompressedQuality(q int) int { return max(q-10, 1) }

func (j *job) saveOptions() vips.SaveOptions {
	q := j.spec.Quality
	if q == 0 {
		q = defaultQuality[j.format]
		if j.spec.Compress {
			q = CompressedQuality(q)
		}
	}
	w, h := j.frames[0].Width(), j.frames[0].Height()
	return vips.SaveOptions{Format: j.format, Quality: q, Effort: effort[j.format],
		Progressive: j.format == "jpeg" && w*h > progressiveMinPixels}
}

// save joins the frames of an animation, computes and encodes. Metadata is
// stripped by every saver; the pixels were converted to sRGB at load, so the
// output needs no profile.
func (j *job) save() error {
	out := j.frames[0]
	if len(j.frames) > 1 {
		joined, err := vips.Join(j.frames)
		if err != nil {
			return err
		}
		defer joined.Close()
		out = joined
	}
	body, err := out.Save(j.saveOptions())
	if err != nil {
		return err
	}
	j.result = Result{Body: body, Format: j.format, ContentType: contentTypes[j.format],
		Width: j.frames[0].Width(), Height: j.frames[0].Height()}
	return nil
}

// watermark fetches the mark (through the edge's cache), fits it to the
// frame (Scale % of the frame's width, never larger than the frame) and
// draws it at its anchor with its margins and opacity.
func (j *job) watermark() error {
	m := j.spec.Watermark
	if m == nil {
		return nil
	}
	if j.fetch == nil {
		return &ParamError{Param: "watermark", Value: m.Path, Msg: "watermarks are not enabled for this domain"}
	}
	body, err := j.fetch(j.ctx, m.Path)
	if err != nil {
		return &Error{Kind: ErrUnprocessable, Op: "watermark", Err: fmt.Errorf("fetch %s: %w", m.Path, err)}
	}
	mh, err := Probe(body)
	if err != nil {
		return err
	}
	if err := j.lim.checkSource(body, mh); err != nil {
		return err
	}
	fw, fh := j.frames[0].Width(), j.frames[0].Height()
	mark, err := j.loadMark(body, fw, fh)
	if err != nil {
		return err
	}
	defer mark.Close()
	x, y := markPosition(m, fw, fh, mark.Width(), mark.Height())
	for _, f := range j.frames {
		if err := f.Composite(mark, x, y, float64(m.Opacity)/100); err != nil {
			return err
		}
	}
	return nil
}

func (j *job) loadMark(body []byte, fw, fh int) (*vips.Image, error) {
	w, h, size := fw, fh, vips.SizeDown
	if s := j.spec.Watermark.Scale; s > 0 {
		w, size = dim(float64(fw)*float64(s)/100), vips.SizeBoth
	}
	mark, err := vips.Thumbnail(body, w, h, size, false)
	if err != nil {
		return nil, err
	}
	mark.Watch(j.cancel)
	if err := mark.ToSRGB(); err != nil {
		mark.Close()
		return nil, err
	}
	return mark, nil
}

// markPosition anchors a mw x mh mark in a W x H frame with the mark's
// margins applied inwards, kept inside the frame.
func markPosition(m *Mark, W, H, mw, mh int) (int, int) {
	x, y := anchor(m.Gravity, W, H, mw, mh)
	x += signX(m.Gravity) * m.X
	y += signY(m.Gravity) * m.Y
	if m.Gravity == "center" || m.Gravity == "north" || m.Gravity == "south" {
		x = (W - mw) / 2 // margins move a mark only away from the edges it touches
	}
	if m.Gravity == "center" || m.Gravity == "east" || m.Gravity == "west" {
		y = (H - mh) / 2
	}
	return min(max(x, 0), max(W-mw, 0)), min(max(y, 0), max(H-mh, 0))
}
