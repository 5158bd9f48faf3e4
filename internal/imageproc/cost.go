package imageproc

import "fmt"

// Cost is an estimate of the CPU time a job takes, in milliseconds of one current x86 core
// (the rates below were measured with BenchmarkCostEstimate on a 2-core cloud VM; another
// machine scales them all alike). It is known from the source's header and the spec before
// anything is decoded, so a job can be refused or scheduled by it before it takes a worker.
type Cost float64

// Per-megapixel rates in milliseconds. Decoding costs for every pixel of the source (entropy
// decoding reads it all, even when DCT scaling decodes fewer) and for every pixel decoded;
// the rest costs per output pixel.
var (
	sourceRate = map[string]float64{"jpeg": 12, "webp": 12, "png": 40, "gif": 12, "avif": 60, "heic": 60}
	decodeRate = map[string]float64{"jpeg": 12, "webp": 25, "png": 60, "gif": 10, "avif": 40, "heic": 40}
	encodeRate = map[string]float64{"jpeg": 30, "png": 150, "webp": 215, "avif": 640, "gif": 700}
)

const (
	resizeRate   = 10  // resample, crop, pad, flatten
	blurRate     = 35  // a blur: at most directBlurSigma wide at full size (see blur)
	sharpenRate  = 140 // vips_sharpen's round trip through LabS, plus...
	sharpenSigma = 7   // ...this much per unit of sigma
	adjustRate   = 12  // brightness, contrast
	rotateRate   = 8   // rotation and flips
	markRate     = 25  // compositing a watermark
)

// Estimate is the Cost of running spec on a source with header h (as Probe reads it). It
// refuses what load would refuse (a crop outside the image).
func Estimate(h Header, spec Spec, lim Limits) (Cost, error) {
	lim.SetDefaults()
	if spec.Info {
		return 1, nil
	}
	format := outputFormat(spec.Format, h.Format)
	animated := h.Pages > 1 && (format == "gif" || format == "webp")
	p, err := planLoad(h, spec, lim, animated)
	if err != nil {
		return 0, err
	}
	frames := 1.0
	if animated {
		frames = float64(h.Pages)
	}
	const mp = 1e6
	src := float64(h.Width) * float64(h.Height) * frames / mp
	decoded := src / float64(p.shrink*p.shrink)
	fw, fh := p.geom.final()
	out := float64(fw) * float64(fh) * frames / mp
	perOut := resizeRate + rate(encodeRate, format, 200)
	if spec.Blur > 0 {
		perOut += blurRate
	}
	if spec.Sharpen > 0 {
		perOut += sharpenRate + sharpenSigma*spec.Sharpen
	}
	if spec.Brightness != 0 || spec.Contrast != 0 {
		perOut += adjustRate
	}
	if spec.Rotate != 0 || spec.FlipH || spec.FlipV {
		perOut += rotateRate
	}
	if spec.Watermark != nil {
		perOut += markRate
	}
	work := src*rate(sourceRate, h.Format, 40) + decoded*rate(decodeRate, h.Format, 40) + out*perOut
	return Cost(max(work, 1)), nil
}

func rate(m map[string]float64, format string, unknown float64) float64 {
	if r, ok := m[format]; ok {
		return r
	}
	return unknown
}

// checkCost refuses a job whose estimate is over lim.MaxCost.
func (l Limits) checkCost(c Cost) error {
	if l.MaxCost > 0 && c > l.MaxCost {
		return &Error{Kind: ErrTooCostly, Op: "cost", Err: fmt.Errorf("the transform would take about %.0f ms of CPU, over the limit of %.0f", float64(c), float64(l.MaxCost))}
	}
	return nil
}
