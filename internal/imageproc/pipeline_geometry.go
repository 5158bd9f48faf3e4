package imageproc

import "math"

// geometry is the resize plan for one frame, in output pixels.
type geometry struct {
	resizeW, resizeH int    // the frame after the resize step
	cropW, cropH     int    // fill: the box cut from the resized frame; 0 = none
	padW, padH       int    // pad: the canvas the frame is centred on; 0 = none
	gravity          string // where the crop or the pad anchors
}

// final is the frame size after crop and pad (before rotation).
func (g geometry) final() (int, int) {
	switch {
	case g.cropW > 0:
		return g.cropW, g.cropH
	case g.padW > 0:
		return g.padW, g.padH
	}
	return g.resizeW, g.resizeH
}

// box is the target box of the spec for a w x h input, DPR applied; 0
// means "not constrained".
func (s Spec) box(w, h int) (bw, bh float64) {
	d := max(s.DPR, 1)
	bw, bh = float64(s.Width)*d, float64(s.Height)*d
	if bw == 0 && bh == 0 {
		switch {
		case s.Long > 0 && w >= h, s.Short > 0 && w < h:
			bw = float64(max(s.Long, s.Short)) * d
		case s.Long > 0, s.Short > 0:
			bh = float64(max(s.Long, s.Short)) * d
		}
	}
	return bw, bh
}

// planGeometry computes the resize for a w x h frame (oriented, cropped):
// fit inside the box, fill (cover, then crop), pad (fit, then canvas),
// exact (both sides forced), min (cover without crop), one side only, long
// or short side, percent. Nothing grows unless s.Upscale, and the result is
// scaled down to fit lim's MaxOutput (rotation taken into account) rather
// than refused, as imgproxy does: DPR 3 on a large box is a request for
// "as sharp as you can", not an error.
func planGeometry(w, h int, s Spec, lim Limits) geometry {
	bw, bh := s.box(w, h)
	fw, fh := bw/float64(w), bh/float64(h)
	sx, sy := 1.0, 1.0
	g := geometry{gravity: s.Gravity}
	both := bw > 0 && bh > 0
	switch {
	case s.Percent > 0 && !both && bw == 0 && bh == 0:
		sx = float64(s.Percent) / 100 * max(s.DPR, 1)
		sy = sx
	case both && (s.Mode == "fill" || s.Mode == "min"):
		sx = max(fw, fh)
		sy = sx
	case both && s.Mode == "exact":
		sx, sy = fw, fh
	case both:
		sx = min(fw, fh)
		sy = sx
	case bw > 0:
		sx, sy = fw, fw
	case bh > 0:
		sx, sy = fh, fh
	}
	if !s.Upscale && max(sx, sy) > 1 {
		shrinkBox := max(sx, sy)
		if s.Mode == "fill" || s.Mode == "exact" {
			// keep the box's aspect ratio at the largest size that needs no upscale
			bw, bh = bw/shrinkBox, bh/shrinkBox
		}
		sx, sy = sx/shrinkBox, sy/shrinkBox
	}
	g.resizeW, g.resizeH = dim(float64(w)*sx), dim(float64(h)*sy)
	if both && s.Mode == "exact" {
		g.resizeW, g.resizeH = dim(bw), dim(bh)
	}
	if both && s.Mode == "fill" {
		g.cropW, g.cropH = min(dim(bw), g.resizeW), min(dim(bh), g.resizeH)
	}
	if both && s.Mode == "pad" {
		g.padW, g.padH = max(dim(bw), g.resizeW), max(dim(bh), g.resizeH)
	}
	return g.fit(lim, s.Rotate == 90 || s.Rotate == 270)
}

// fit scales the whole plan down so the final frame fits MaxOutput.
func (g geometry) fit(lim Limits, swapped bool) geometry {
	maxW, maxH := lim.MaxOutputWidth, lim.MaxOutputHeight
	if swapped {
		maxW, maxH = maxH, maxW
	}
	fw, fh := g.final()
	f := min(float64(maxW)/float64(fw), float64(maxH)/float64(fh))
	if f >= 1 {
		return g
	}
	scale := func(v int) int {
		if v == 0 {
			return 0
		}
		return dim(float64(v) * f)
	}
	g.resizeW, g.resizeH = scale(g.resizeW), scale(g.resizeH)
	g.cropW, g.cropH = min(scale(g.cropW), g.resizeW), min(scale(g.cropH), g.resizeH)
	g.padW, g.padH = scale(g.padW), scale(g.padH)
	return g
}

// dim rounds a size to whole pixels, at least 1.
func dim(v float64) int { return max(int(math.Round(v)), 1) }

// anchor places an inner w x h area inside an outer W x H one by gravity,
// returning the inner area's top-left corner.
func anchor(gravity string, W, H, w, h int) (x, y int) {
	x, y = (W-w)/2, (H-h)/2
	switch gravity {
	case "north", "northwest", "northeast":
		y = 0
	case "south", "southwest", "southeast":
		y = H - h
	}
	switch gravity {
	case "west", "northwest", "southwest":
		x = 0
	case "east", "northeast", "southeast":
		x = W - w
	}
	return x, y
}

// resolveRect turns a crop Rect into an area of a w x h frame: W or H of 0
// runs to the edge, X and Y are offsets from the Anchor (inwards), and the
// area is clipped to the frame. ok is false when nothing of it is inside.
func resolveRect(r Rect, w, h int) (x, y, cw, ch int, ok bool) {
	cw, ch = r.W, r.H
	if cw == 0 || cw > w {
		cw = w
	}
	if ch == 0 || ch > h {
		ch = h
	}
	x, y = anchor(r.Anchor, w, h, cw, ch)
	switch r.Anchor {
	case "", "northwest":
		x, y = 0, 0
	}
	x, y = x+signX(r.Anchor)*r.X, y+signY(r.Anchor)*r.Y
	if r.W == 0 {
		cw = w - max(x, 0)
	}
	if r.H == 0 {
		ch = h - max(y, 0)
	}
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+cw, w), min(y+ch, h)
	if x1 <= x0 || y1 <= y0 {
		return 0, 0, 0, 0, false
	}
	return x0, y0, x1 - x0, y1 - y0, true
}

// signX is the direction an X offset moves from an anchor: inwards.
func signX(anchor string) int {
	switch anchor {
	case "east", "northeast", "southeast":
		return -1
	}
	return 1
}

func signY(anchor string) int {
	switch anchor {
	case "south", "southwest", "southeast":
		return -1
	}
	return 1
}
