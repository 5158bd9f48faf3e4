package imageproc

import (
	"encoding/base64"
	"slices"
	"strings"
)

// ParseOSS parses an x-oss-process value: "image/" followed by steps separated
// by '/', each "op,key_value,..." (e.g. "image/resize,m_fill,w_300,h_200/quality,q_75").
// A later step of the same op overrides an earlier one.
func ParseOSS(process string) (Spec, error) {
	rest, ok := strings.CutPrefix(process, "image/")
	if !ok {
		if process == "image" {
			return Spec{}, nil
		}
		return Spec{}, paramErr("x-oss-process", process, `want "image/" followed by operations`)
	}
	return ParseImageProcess(rest)
}

// ParseImageProcess parses an image_process value: the x-oss-process grammar
// without the "image/" prefix (e.g. "resize,l_200/quality,q_90/format,webp").
func ParseImageProcess(process string) (Spec, error) {
	var s Spec
	for _, step := range strings.Split(process, "/") {
		if step == "" {
			continue // tolerate "a//b" and a trailing slash
		}
		op, args, _ := strings.Cut(step, ",")
		apply, ok := ossOps[op]
		if !ok {
			return Spec{}, paramErr(op, "", "unknown operation")
		}
		if err := apply(&s, op, args); err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

// ossOps maps each operation name to the function that applies its arguments.
var ossOps = map[string]func(*Spec, string, string) error{
	"resize": ossResize, "crop": ossCrop, "rotate": ossRotate,
	"auto-orient": ossAutoOrient, "format": ossFormat, "quality": ossQuality,
	"sharpen": ossSharpen, "blur": ossBlur, "bright": ossBright,
	"contrast": ossContrast, "info": ossInfo, "watermark": ossWatermark,
}

// ossArg is one key_value argument of an operation.
type ossArg struct{ k, v string }

// ossKV splits "k_v,k_v" into arguments in the order written, so the first
// bad one is the one reported; it refuses a key given twice.
func ossKV(op, args string) ([]ossArg, error) {
	if args == "" {
		return nil, nil
	}
	var out []ossArg
	for _, a := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(a, "_")
		if !ok || k == "" {
			return nil, paramErr(op, a, "want key_value")
		}
		for _, prev := range out {
			if prev.k == k {
				return nil, paramErr(op+"."+k, v, "given twice")
			}
		}
		out = append(out, ossArg{k, v})
	}
	return out, nil
}

var ossModes = map[string]string{"lfit": "fit", "mfit": "min", "fill": "fill", "pad": "pad", "fixed": "exact"}

func ossResize(s *Spec, op, args string) error {
	kv, err := ossKV(op, args)
	if err != nil {
		return err
	}
	r := Spec{}
	dims := map[string]*int{"w": &r.Width, "h": &r.Height, "l": &r.Long, "s": &r.Short}
	for _, a := range kv {
		k, v := a.k, a.v
		param := op + "." + k
		switch k {
		case "w", "h", "l", "s":
			*dims[k], err = parseIntRange(param, v, 1, MaxDimension)
		case "p":
			r.Percent, err = parseIntRange(param, v, 1, MaxPercent)
		case "m":
			if r.Mode = ossModes[v]; r.Mode == "" {
				err = paramErr(param, v, "want lfit, mfit, fill, pad or fixed")
			}
		case "limit":
			var n int
			n, err = parseIntRange(param, v, 0, 1)
			r.Upscale = n == 0
		case "color":
			s.Background, err = parseHexColor(param, v)
		default:
			err = paramErr(param, v, "unknown resize parameter")
		}
		if err != nil {
			return err
		}
	}
	s.Width, s.Height, s.Long, s.Short, s.Percent = r.Width, r.Height, r.Long, r.Short, r.Percent
	s.Mode, s.Upscale = r.Mode, r.Upscale
	return nil
}

var ossGravity = map[string]string{
	"nw": "northwest", "north": "north", "ne": "northeast", "west": "west", "center": "center",
	"east": "east", "sw": "southwest", "south": "south", "se": "southeast",
}

func ossCrop(s *Spec, op, args string) error {
	kv, err := ossKV(op, args)
	if err != nil {
		return err
	}
	r := Rect{}
	fields := map[string]*int{"x": &r.X, "y": &r.Y, "w": &r.W, "h": &r.H}
	for _, a := range kv {
		k, v := a.k, a.v
		param := op + "." + k
		switch k {
		case "x", "y":
			*fields[k], err = parseIntRange(param, v, 0, 1<<16)
		case "w", "h":
			*fields[k], err = parseIntRange(param, v, 1, 1<<16)
		case "g":
			if r.Anchor = ossGravity[v]; r.Anchor == "" {
				err = paramErr(param, v, "want nw, north, ne, west, center, east, sw, south or se")
			}
		default:
			err = paramErr(param, v, "unknown crop parameter")
		}
		if err != nil {
			return err
		}
	}
	if r.Anchor == "northwest" {
		r.Anchor = "" // the default; one spelling per meaning
	}
	s.Crop = &r
	return nil
}

func ossRotate(s *Spec, op, args string) error {
	n, err := parseRotate(op, args)
	s.Rotate = n
	return err
}

func ossAutoOrient(s *Spec, op, args string) error {
	n, err := parseIntRange(op, args, 0, 1)
	s.NoAutoOrient = n == 0
	return err
}

func ossFormat(s *Spec, op, args string) error {
	f := normFormat(args)
	if f == "" && args != "auto" {
		return paramErr(op, args, "want jpg, png, webp, avif, gif or auto")
	}
	if args == "auto" {
		f = "auto"
	}
	s.Format = f
	return nil
}

// ossQuality takes q_ (relative in OSS) and Q_ (absolute) alike: the edge
// does not know the source's quality, so both are the output quality.
func ossQuality(s *Spec, op, args string) error {
	kv, err := ossKV(op, args)
	if err != nil {
		return err
	}
	if len(kv) != 1 {
		return paramErr(op, args, "want q_N or Q_N")
	}
	for _, a := range kv {
		k, v := a.k, a.v
		if k != "q" && k != "Q" {
			return paramErr(op+"."+k, v, "unknown quality parameter")
		}
		s.Quality, err = parseIntRange(op+"."+k, v, 1, 100)
	}
	return err
}

// ossSharpen takes OSS's 50..399 scale; sigma = value/40 stays within MaxSharpen.
func ossSharpen(s *Spec, op, args string) error {
	n, err := parseIntRange(op, args, 50, 399)
	s.Sharpen = float64(n) / 40
	return err
}

// ossBlur takes r_ (radius, 1..50, implied by sigma in libvips) and s_ (sigma, 1..50).
func ossBlur(s *Spec, op, args string) error {
	kv, err := ossKV(op, args)
	if err != nil {
		return err
	}
	for _, a := range kv {
		k, v := a.k, a.v
		switch k {
		case "r":
			_, err = parseIntRange(op+".r", v, 1, 50)
		case "s":
			var n int
			n, err = parseIntRange(op+".s", v, 1, 50)
			s.Blur = float64(n)
		default:
			err = paramErr(op+"."+k, v, "unknown blur parameter")
		}
		if err != nil {
			return err
		}
	}
	if !slices.ContainsFunc(kv, func(a ossArg) bool { return a.k == "s" }) {
		return paramErr(op+".s", "", "required")
	}
	return nil
}

func ossBright(s *Spec, op, args string) error {
	n, err := parseIntRange(op, args, -MaxBrightness, MaxBrightness)
	s.Brightness = n
	return err
}

func ossContrast(s *Spec, op, args string) error {
	n, err := parseIntRange(op, args, -MaxBrightness, MaxBrightness)
	s.Contrast = n
	return err
}

func ossInfo(s *Spec, op, args string) error {
	if args != "" {
		return paramErr(op, args, "takes no arguments")
	}
	s.Info = true
	return nil
}

// ossWatermark takes image watermarks: image_<url-safe base64 of the object
// key> (optionally "key?x-oss-process=image/resize,P_N" to scale the mark to
// N % of the image width), g_ anchor, x_/y_ margins and t_ opacity, with
// OSS's defaults g_se, x_10, y_10, t_100. Text watermarks are refused.
func ossWatermark(s *Spec, op, args string) error {
	kv, err := ossKV(op, args)
	if err != nil {
		return err
	}
	m := &Mark{Gravity: "southeast", X: 10, Y: 10, Opacity: 100}
	for _, a := range kv {
		if err := ossMarkArg(m, op, a); err != nil {
			return err
		}
	}
	if m.Path == "" {
		return paramErr(op+".image", "", "required")
	}
	s.Watermark = m
	return nil
}

func ossMarkArg(m *Mark, op string, a ossArg) error {
	param := op + "." + a.k
	var err error
	switch a.k {
	case "image":
		err = ossMarkImage(m, param, a.v)
	case "g":
		if m.Gravity = ossGravity[a.v]; m.Gravity == "" {
			err = paramErr(param, a.v, "want nw, north, ne, west, center, east, sw, south or se")
		}
	case "x":
		m.X, err = parseIntRange(param, a.v, 0, MaxMarkMargin)
	case "y":
		m.Y, err = parseIntRange(param, a.v, 0, MaxMarkMargin)
	case "t":
		m.Opacity, err = parseIntRange(param, a.v, 1, 100)
	case "text", "type", "size", "color", "shadow", "rotate", "fill":
		err = paramErr(param, a.v, "text watermarks are not supported")
	default:
		err = paramErr(param, a.v, "unknown watermark parameter")
	}
	return err
}

// ossMarkImage decodes the object key, with or without '=' padding.
func ossMarkImage(m *Mark, param, v string) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return paramErr(param, v, "not url-safe base64")
	}
	key, process, _ := strings.Cut(string(raw), "?")
	if process != "" {
		p, ok := strings.CutPrefix(process, "x-oss-process=image/resize,P_")
		if !ok {
			return paramErr(param, string(raw), "only ?x-oss-process=image/resize,P_N may follow the key")
		}
		if m.Scale, err = parseIntRange(param, p, 1, 100); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(key, "/") {
		key = "/" + key
	}
	if err := checkMarkPath(param, key); err != nil {
		return err
	}
	m.Path = key
	return nil
}
