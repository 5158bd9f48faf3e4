package imageproc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// Error kinds of Process and Probe. The edge maps them to statuses in one
// place: ErrNotImage 415, ErrUnprocessable and ErrTooCostly 422, ErrTimeout
// 503 with Retry-After. Every error the pipeline returns is an *Error with one of
// them as Kind (or a *ParamError, 400, for a watermark a domain refuses),
// so errors.Is(err, ErrUnprocessable) is the test to use.
var (
	ErrNotImage      = errors.New("not an image we process")
	ErrUnprocessable = errors.New("image cannot be processed")
	ErrTimeout       = errors.New("image processing deadline passed")
	ErrTooCostly     = errors.New("image transform over the cost limit")
)

// Error is a pipeline failure: the Kind the edge maps to a status, the
// step (Op) that failed, and the cause (a reason, or libvips' error).
type Error struct {
	Kind error
	Op   string
	Err  error
}

func (e *Error) Error() string {
	return "imageproc " + e.Op + ": " + e.Kind.Error() + ": " + e.Err.Error()
}

var _ error = (*Error)(nil)

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

func unprocessable(op, format string, args ...any) error {
	return &Error{Kind: ErrUnprocessable, Op: op, Err: fmt.Errorf(format, args...)}
}

// classify turns a libvips error into a pipeline error of the right kind.
func classify(op string, err error) error {
	switch {
	case errors.Is(err, vips.ErrUnsupported):
		return &Error{Kind: ErrNotImage, Op: op, Err: err}
	case errors.Is(err, vips.ErrCancelled):
		return &Error{Kind: ErrTimeout, Op: op, Err: err}
	}
	return &Error{Kind: ErrUnprocessable, Op: op, Err: err}
}

// Header is what a source's header says; Probe reads it without decoding pixels.
type Header struct {
	Format        string // jpeg | png | webp | gif | avif | heic
	Width, Height int    // as stored (before EXIF orientation), one frame
	Pages         int    // frames of an animation, 1 for a still
	Alpha         bool
	Orientation   int // EXIF orientation 1..8
}

// Probe reads the header only, so an image bomb (a 100 MP JPEG of 100 KB)
// is measured in well under a millisecond and never decoded. Bytes no
// allowed decoder recognises (HTML, SVG, PDF, TIFF...) are ErrNotImage; a
// recognised but broken header is ErrUnprocessable.
func Probe(src []byte) (Header, error) {
	h, err := vips.Probe(src)
	if err != nil {
		return Header{}, classify("probe", err)
	}
	return Header{Format: h.Format, Width: h.Width, Height: h.Height, Pages: h.Pages, Alpha: h.Alpha, Orientation: h.Orientation}, nil
}

// Limits bound the work one request may cause. The zero value takes the
// defaults through SetDefaults.
type Limits struct {
	MaxSourceBytes  int64         // default 50 MB
	MaxSourcePixels int64         // width*height*frames, default 50 MP
	MaxOutputWidth  int           // default 8192; larger results are scaled down to fit
	MaxOutputHeight int           // default 8192
	Timeout         time.Duration // per job, default 10 s
	MaxCost         Cost          // estimated CPU per job (see Estimate), default DefaultMaxCost; negative = no limit
}

// DefaultMaxCost is Limits.MaxCost when unset: about five seconds of one core, ten times a
// 2000x1500 AVIF made from a 12 MP photo, a fifth of a 4000x3000 AVIF enlarged to 8192 px.
const DefaultMaxCost Cost = 5000

// SetDefaults fills the zero fields.
func (l *Limits) SetDefaults() {
	if l.MaxSourceBytes == 0 {
		l.MaxSourceBytes = 50 << 20
	}
	if l.MaxSourcePixels == 0 {
		l.MaxSourcePixels = 50_000_000
	}
	if l.MaxOutputWidth == 0 {
		l.MaxOutputWidth = MaxDimension
	}
	if l.MaxOutputHeight == 0 {
		l.MaxOutputHeight = MaxDimension
	}
	if l.Timeout == 0 {
		l.Timeout = 10 * time.Second
	}
	if l.MaxCost == 0 {
		l.MaxCost = DefaultMaxCost
	}
}

// Validate reports limits that cannot work.
func (l Limits) Validate() error {
	switch {
	case l.MaxSourceBytes <= 0:
		return fmt.Errorf("imageproc: MaxSourceBytes %d must be positive", l.MaxSourceBytes)
	case l.MaxSourcePixels <= 0:
		return fmt.Errorf("imageproc: MaxSourcePixels %d must be positive", l.MaxSourcePixels)
	case l.MaxOutputWidth <= 0 || l.MaxOutputWidth > 1<<16 || l.MaxOutputHeight <= 0 || l.MaxOutputHeight > 1<<16:
		return fmt.Errorf("imageproc: MaxOutput %dx%d out of range 1..65536", l.MaxOutputWidth, l.MaxOutputHeight)
	case l.Timeout <= 0:
		return fmt.Errorf("imageproc: Timeout %v must be positive", l.Timeout)
	}
	return nil
}

// checkSource refuses a source whose size or header exceeds the limits,
// before anything is decoded. Animated sources count every frame.
func (l Limits) checkSource(src []byte, h Header) error {
	if int64(len(src)) > l.MaxSourceBytes {
		return unprocessable("limits", "source is %d bytes, over the limit of %d", len(src), l.MaxSourceBytes)
	}
	px := int64(h.Width) * int64(h.Height) * int64(max(h.Pages, 1))
	if px > l.MaxSourcePixels {
		return unprocessable("limits", "source is %dx%d x %d frames = %d pixels, over the limit of %d",
			h.Width, h.Height, max(h.Pages, 1), px, l.MaxSourcePixels)
	}
	return nil
}
