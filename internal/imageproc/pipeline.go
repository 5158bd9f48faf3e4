package imageproc

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// Result is a processed image (or, for Spec.Info, the source's JSON facts).
type Result struct {
	Body        []byte
	Format      string // jpeg | png | webp | avif | gif | json
	ContentType string
	Width       int // of one frame; 0 for Info
	Height      int
}

// FetchFunc fetches a same-domain object (a watermark) by path. The edge
// passes one that reads through its cache; the returned bytes are not
// modified by the pipeline.
type FetchFunc func(ctx context.Context, path string) ([]byte, error)

// Process runs spec over src: Plan, then Run. For spec.Info it answers JSON {"width",
// "height","format","size"} of the source without decoding it. Watermarks
// are fetched with fetch; a nil fetch refuses them with a *ParamError.
// Format "auto" must be resolved by the caller (NegotiateFormat); if it is
// not, the source format is used. lim's zero fields take their defaults.
// Errors are *Error of kind ErrNotImage, ErrUnprocessable, ErrTooCostly or ErrTimeout.
func Process(ctx context.Context, src []byte, spec Spec, lim Limits, fetch func(ctx context.Context, path string) ([]byte, error)) (Result, error) {
	job, err := Plan(src, spec, lim)
	if err != nil {
		return Result{}, err
	}
	return job.Run(ctx, fetch)
}

// A Job is one source and transform whose header Plan has read and checked, with its
// estimated Cost, so that a scheduler can weigh it before it takes a worker. Run makes the
// result without reading the header again; it does not change the Job.
type Job struct {
	Cost Cost
	src  []byte
	spec Spec
	lim  Limits
	head Header
}

// Plan reads the source's header and refuses from it alone what Process would refuse (not an
// image, a bomb, a transform over the cost limit), before anything is decoded.
func Plan(src []byte, spec Spec, lim Limits) (*Job, error) {
	lim.SetDefaults()
	if err := lim.Validate(); err != nil {
		return nil, &Error{Kind: ErrUnprocessable, Op: "limits", Err: err}
	}
	h, err := inspect(src, spec, lim)
	if err != nil {
		return nil, err
	}
	c, err := Estimate(h, spec, lim)
	if err != nil {
		return nil, err
	}
	if err := lim.checkCost(c); err != nil {
		return nil, err
	}
	return &Job{Cost: c, src: src, spec: spec, lim: lim, head: h}, nil
}

// Run makes the Job's result. The work is an ordered list of small steps with the deadline
// (ctx's, and the Limits' Timeout) checked between them; libvips' lazy evaluation (inside
// save) is stopped by a Canceller the deadline fires.
func (p *Job) Run(ctx context.Context, fetch FetchFunc) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, p.lim.Timeout)
	defer cancel()
	j := &job{ctx: ctx, src: p.src, spec: p.spec, lim: p.lim, fetch: fetch, cancel: vips.NewCanceller(), head: p.head}
	j.format = outputFormat(j.spec.Format, j.head.Format)
	j.animated = j.head.Pages > 1 && (j.format == "gif" || j.format == "webp")
	stop := context.AfterFunc(ctx, j.cancel.Cancel)
	defer func() {
		stop()
		j.close()
		releaseMemory()
	}()
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return Result{}, &Error{Kind: ErrTimeout, Op: st.name, Err: err}
		}
		if err := st.run(j); err != nil {
			return Result{}, j.wrap(st.name, err)
		}
		if j.done {
			break
		}
	}
	return j.result, nil
}

// trimEvery bounds how often finished jobs hand freed C memory back to the system: often
// enough that RSS follows the load down, rarely enough that the trim's walk of the heap is
// noise next to the jobs themselves.
const trimEvery = 5 * time.Second

var lastTrim atomic.Int64 // unix nanoseconds

// releaseMemory trims the C heap when the last trim is trimEvery old (one caller does it).
func releaseMemory() {
	now := time.Now().UnixNano()
	last := lastTrim.Load()
	if now-last < int64(trimEvery) || !lastTrim.CompareAndSwap(last, now) {
		return
	}
	vips.ReleaseMemory()
}

// job is one Process call's state, passed from step to step.
type job struct {
	ctx    context.Context
	src    []byte
	spec   Spec
	lim    Limits
	fetch  FetchFunc
	cancel *vips.Canceller

	head     Header
	format   string        // output format
	animated bool          // frames are kept as an animation
	frames   []*vips.Image // one for a still
	geom     geometry
	result   Result
	done     bool // the result is ready (Info)
}

func (j *job) close() {
	vips.CloseAll(j.frames)
	j.frames = nil
	j.cancel.Close()
}

// wrap gives an error its kind: a deadline that passed while libvips
// computed is a timeout whatever libvips said.
func (j *job) wrap(op string, err error) error {
	var pe *ParamError
	var e *Error
	switch {
	case errors.As(err, &pe), errors.As(err, &e):
		return err
	case j.cancel.Fired() || j.ctx.Err() != nil:
		return &Error{Kind: ErrTimeout, Op: op, Err: errors.Join(j.ctx.Err(), err)}
	}
	return classify(op, err)
}

// steps is the pipeline, in order.
var steps = []struct {
	name string
	run  func(*job) error
}{
	{"info", (*job).info},
	{"load", (*job).load},
	{"crop", perFrame((*job).cropRect)},
	{"resize", perFrame((*job).resize)},
	{"materialize", perFrame((*job).materialize)},
	{"fill", perFrame((*job).fill)},
	{"pad", perFrame((*job).pad)},
	{"rotate", perFrame((*job).rotate)},
	{"flip", perFrame((*job).flip)},
	{"blur", perFrame((*job).blur)},
	{"sharpen", perFrame((*job).sharpen)},
	{"adjust", perFrame((*job).adjust)},
	{"watermark", (*job).watermark},
	{"flatten", perFrame((*job).flatten)},
	{"save", (*job).save},
}

// perFrame lifts a step over every frame of an animation.
func perFrame(step func(*job, *vips.Image) error) func(*job) error {
	return func(j *job) error {
		for _, f := range j.frames {
			if err := step(j, f); err != nil {
				return err
			}
		}
		return nil
	}
}

// inspect reads a source's header and refuses a source over the limits.
func inspect(src []byte, spec Spec, lim Limits) (Header, error) {
	h, err := Probe(src)
	if err != nil {
		return h, err
	}
	if spec.Info { // nothing is decoded: only the byte limit applies
		lim.MaxSourcePixels = 1 << 62
	}
	return h, lim.checkSource(src, h)
}

// outputFormat: "" (and an unresolved "auto") keep the source format,
// except HEIC, which browsers do not show, and which becomes JPEG.
func outputFormat(asked, source string) string {
	if asked != "" && asked != "auto" {
		return asked
	}
	if source == "heic" {
		return "jpeg"
	}
	return source
}

// info answers Spec.Info from the header alone: the pixel limit does not
// apply, since nothing is decoded.
func (j *job) info() error {
	if !j.spec.Info {
		return nil
	}
	body, err := json.Marshal(struct {
		Width  int    `json:"width"`
		Height int    `json:"height"`
		Format string `json:"format"`
		Size   int    `json:"size"`
	}{j.head.Width, j.head.Height, j.head.Format, len(j.src)})
	if err != nil {
		return err
	}
	j.result = Result{Body: body, Format: "json", ContentType: "application/json"}
	j.done = true
	return nil
}

var contentTypes = map[string]string{
	"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif", "gif": "image/gif",
}
