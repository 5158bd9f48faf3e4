package imageproc

import (
	"errors"
	"net/url"
	"testing"
)

func mustQuery(t testing.TB, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return q
}

func wantParamErr(t *testing.T, err error, param string) {
	t.Helper()
	var pe *ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *ParamError naming %q", err, param)
	}
	if pe.Param != param {
		t.Fatalf("ParamError.Param = %q, want %q (%v)", pe.Param, param, err)
	}
}

func TestParseImgix(t *testing.T) {
	tests := []struct {
		query   string
		want    string // Canonical
		present bool
	}{
		{"", "", false},
		{"utm_source=x&auth_key=1-2-3", "", false},
		{"dpr=1", "", true},
		{"w=300", "w=300", true},
		{"w=300&h=200&fit=crop&q=75&fm=webp", "w=300,h=200,m=fill,f=webp,q=75", true},
		{"w=300&fit=clip", "w=300", true},
		{"w=300&fit=scale", "w=300,m=exact", true},
		{"w=300&h=300&fit=fill&bg=FFF", "w=300,h=300,m=pad,bg=ffffff", true},
		{"w=300&h=300&fit=crop&crop=top,left", "w=300,h=300,m=fill,g=northwest", true},
		{"w=300&h=300&fit=crop&crop=entropy", "w=300,h=300,m=fill,g=smart", true},
		{"w=300&dpr=2.5", "w=300,dpr=2.5", true},
		{"w=300&dpr=9", "w=300,dpr=4", true},
		{"w=300&dpr=0.5", "w=300", true},
		{"auto=format,compress", "f=auto,cmp", true},
		{"auto=format&fm=png", "f=png", true},
		{"fm=jpg", "f=jpeg", true},
		{"fm=json", "info", true},
		{"rot=90&flip=hv", "r=90,fh,fv", true},
		{"rot=360", "", true},
		{"blur=80&sharp=20&bri=-10&con=15", "blur=10,sh=2,br=-10,co=15", true},
		{"rect=10,20,100,50", "c=10_20_100_50_northwest", true},
		{"q=80&q=80", "q=80", true},
	}
	for _, tt := range tests {
		s, present, err := ParseImgix(mustQuery(t, tt.query))
		if err != nil {
			t.Errorf("ParseImgix(%q): %v", tt.query, err)
			continue
		}
		if got := s.Canonical(); got != tt.want || present != tt.present {
			t.Errorf("ParseImgix(%q) = %q, %v; want %q, %v", tt.query, got, present, tt.want, tt.present)
		}
	}
}

func TestParseImgixErrors(t *testing.T) {
	tests := []struct{ query, param string }{
		{"w=0", "w"},
		{"w=8193", "w"},
		{"w=abc", "w"},
		{"h=-1", "h"},
		{"fit=facearea", "fit"},
		{"crop=middle", "crop"},
		{"fm=bmp", "fm"},
		{"q=0", "q"},
		{"q=101", "q"},
		{"auto=enhance", "auto"},
		{"dpr=0", "dpr"},
		{"dpr=NaN", "dpr"},
		{"blur=2001", "blur"},
		{"sharp=-1", "sharp"},
		{"rot=45", "rot"},
		{"flip=x", "flip"},
		{"bg=zzz", "bg"},
		{"bg=12345", "bg"},
		{"bri=101", "bri"},
		{"con=-101", "con"},
		{"rect=1,2,3", "rect"},
		{"rect=1,2,0,3", "rect"},
		{"w=100&w=200", "w"},
	}
	for _, tt := range tests {
		_, present, err := ParseImgix(mustQuery(t, tt.query))
		if !present {
			t.Errorf("ParseImgix(%q): present = false", tt.query)
		}
		t.Run(tt.query, func(t *testing.T) { wantParamErr(t, err, tt.param) })
	}
}

func TestParseOSS(t *testing.T) {
	tests := []struct{ process, want string }{
		{"image", ""},
		{"image/", ""},
		{"image/resize,m_fill,w_300,h_200/quality,q_75/format,webp", "w=300,h=200,m=fill,f=webp,q=75"},
		{"image/resize,w_300,m_lfit", "w=300"},
		{"image/resize,l_200", "l=200"},
		{"image/resize,s_200,m_mfit", "s=200,m=min"},
		{"image/resize,p_50", "p=50"},
		{"image/resize,w_300,h_300,m_pad,color_FFFFFF", "w=300,h=300,m=pad,bg=ffffff"},
		{"image/resize,w_300,m_fixed,limit_0", "w=300,m=exact,up"},
		{"image/resize,w_100/resize,w_200", "w=200"},
		{"image/crop,x_10,y_20,w_100,h_50", "c=10_20_100_50_northwest"},
		{"image/crop,w_100,h_50,g_se", "c=0_0_100_50_southeast"},
		{"image/rotate,270", "r=270"},
		{"image/auto-orient,0", "noao"},
		{"image/auto-orient,1", ""},
		{"image/format,jpg/quality,Q_90", "f=jpeg,q=90"},
		{"image/sharpen,100", "sh=2.5"},
		{"image/blur,r_3,s_2", "blur=2"},
		{"image/bright,50/contrast,-20", "br=50,co=-20"},
		{"image/info", "info"},
		{"image/format,auto", "f=auto"},
	}
	for _, tt := range tests {
		s, err := ParseOSS(tt.process)
		if err != nil {
			t.Errorf("ParseOSS(%q): %v", tt.process, err)
			continue
		}
		if got := s.Canonical(); got != tt.want {
			t.Errorf("ParseOSS(%q) = %q, want %q", tt.process, got, tt.want)
		}
	}
}

func TestParseOSSErrors(t *testing.T) {
	tests := []struct{ process, param string }{
		{"style/foo", "x-oss-process"},
		{"image/resize,w_0", "resize.w"},
		{"image/resize,h_9000", "resize.h"},
		{"image/resize,p_1001", "resize.p"},
		{"image/resize,m_stretch", "resize.m"},
		{"image/resize,limit_2", "resize.limit"},
		{"image/resize,color_red", "resize.color"},
		{"image/resize,z_1", "resize.z"},
		{"image/resize,w300", "resize"},
		{"image/resize,w_1,w_2", "resize.w"},
		{"image/resize,h_0,w_0", "resize.h"}, // the first bad argument, in written order
		{"image/crop,g_middle", "crop.g"},
		{"image/crop,x_-1", "crop.x"},
		{"image/rotate,45", "rotate"},
		{"image/rotate,abc", "rotate"},
		{"image/auto-orient,2", "auto-orient"},
		{"image/format,bmp", "format"},
		{"image/quality,q_0", "quality.q"},
		{"image/quality,x_5", "quality.x"},
		{"image/quality", "quality"},
		{"image/sharpen,10", "sharpen"},
		{"image/blur,r_3", "blur.s"},
		{"image/blur,s_51", "blur.s"},
		{"image/bright,101", "bright"},
		{"image/contrast,x", "contrast"},
		{"image/info,1", "info"},
		{"image/watermark,text_aGk", "watermark.text"},
		{"image/interlace,1", "interlace"},
	}
	for _, tt := range tests {
		_, err := ParseOSS(tt.process)
		t.Run(tt.process, func(t *testing.T) { wantParamErr(t, err, tt.param) })
	}
}

func TestParseImageProcess(t *testing.T) {
	s, err := ParseImageProcess("resize,l_200/quality,q_90/format,webp")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Canonical(), "l=200,f=webp,q=90"; got != want {
		t.Fatalf("Canonical = %q, want %q", got, want)
	}
	_, err = ParseImageProcess("image/resize,w_10")
	wantParamErr(t, err, "image")
}

// TestDialectEquivalence: URLs that mean the same transform share a cache key.
func TestDialectEquivalence(t *testing.T) {
	tests := []struct{ imgix, oss string }{
		{"w=300&h=200&fit=crop&q=75&fm=webp", "image/resize,m_fill,w_300,h_200/quality,q_75/format,webp"},
		{"w=300", "image/resize,w_300"},
		{"w=300&fit=max", "image/resize,m_lfit,w_300"},
		{"w=300&h=300&fit=fill&bg=ffffff", "image/resize,m_pad,w_300,h_300,color_FFFFFF"},
		{"w=300&h=300&fit=scale", "image/resize,m_fixed,w_300,h_300"},
		{"rot=90&fm=jpg&q=80", "image/rotate,90/format,jpeg/quality,Q_80"},
		{"bri=10&con=-5", "image/bright,10/contrast,-5"},
		{"blur=80", "image/blur,r_5,s_10"},
		{"sharp=25", "image/sharpen,100"},
		{"fm=json", "image/info"},
		{"rect=10,20,100,50", "image/crop,x_10,y_20,w_100,h_50,g_nw"},
		{"auto=format", "image/format,auto"},
		{"mark=/logo.png&mark-align=bottom,right&mark-alpha=90&mark-pad=10", "image/watermark,image_bG9nby5wbmc,g_se,x_10,y_10,t_90"},
		{"mark=/logo.png&mark-align=top,left&mark-pad=0&mark-w=0.3", "image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8zMA,g_nw,x_0,y_0"},
		{"w=300&mark=/logo.png&mark-pad=10", "image/resize,w_300/watermark,image_bG9nby5wbmc"},
	}
	for _, tt := range tests {
		a, _, err := ParseImgix(mustQuery(t, tt.imgix))
		if err != nil {
			t.Fatalf("imgix %q: %v", tt.imgix, err)
		}
		b, err := ParseOSS(tt.oss)
		if err != nil {
			t.Fatalf("oss %q: %v", tt.oss, err)
		}
		c, err := ParseImageProcess(tt.oss[len("image/"):])
		if err != nil {
			t.Fatalf("image_process %q: %v", tt.oss, err)
		}
		if a.Canonical() != b.Canonical() || b.Canonical() != c.Canonical() {
			t.Errorf("imgix %q -> %q, oss %q -> %q, image_process -> %q", tt.imgix, a.Canonical(), tt.oss, b.Canonical(), c.Canonical())
		}
	}
}

// TestCanonicalStable: parameter order and default restatements do not
// change the key, and distinct transforms get distinct keys.
func TestCanonicalStable(t *testing.T) {
	same := [][]string{
		{"w=300&h=200&fm=webp&q=75", "q=75&fm=webp&h=200&w=300", "w=300&h=200&fm=webp&q=75&dpr=1&fit=clip"},
		{"w=300&h=300&fit=crop", "fit=crop&w=300&h=300&crop=center", "h=300&fit=min&w=300"},
		{"rot=0", "", "dpr=3"},
	}
	for _, group := range same {
		var first string
		for i, q := range group {
			s, _, err := ParseImgix(mustQuery(t, q))
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			if i == 0 {
				first = s.Canonical()
			} else if got := s.Canonical(); got != first {
				t.Errorf("%q -> %q, want %q (as %q)", q, got, first, group[0])
			}
		}
	}
	distinct := []string{"w=300", "h=300", "w=300&dpr=2", "w=300&fit=crop", "w=300&fit=scale", "w=3000", "q=30", "fm=png", "rot=90", "flip=h", "flip=v"}
	seen := map[string]string{}
	for _, q := range distinct {
		s, _, err := ParseImgix(mustQuery(t, q))
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if prev, dup := seen[s.Canonical()]; dup {
			t.Errorf("%q and %q share key %q", prev, q, s.Canonical())
		}
		seen[s.Canonical()] = q
	}
}

func TestIsZero(t *testing.T) {
	if !(Spec{}).IsZero() || !(Spec{DPR: 2}).IsZero() {
		t.Error("a spec with nothing to do should be zero")
	}
	if (Spec{Width: 1}).IsZero() || (Spec{Info: true}).IsZero() || (Spec{Crop: &Rect{W: 1}}).IsZero() {
		t.Error("a spec with work to do should not be zero")
	}
}

func TestParamErrorMessage(t *testing.T) {
	_, _, err := ParseImgix(mustQuery(t, "w=99999"))
	if got, want := err.Error(), `image parameter "w"="99999": out of range 1..8192`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = ParseOSS("image/nope")
	if got, want := err.Error(), `image parameter "nope": unknown operation`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestWatermarkParsing(t *testing.T) {
	imgix := []struct{ query, want string }{
		{"mark=/logo.png", "wm=southeast_5_5_100_0_%2Flogo.png"},
		{"mark=/logo.png&mark-align=top,left&mark-alpha=40&mark-pad=0&mark-w=0.25", "wm=northwest_0_0_40_25_%2Flogo.png"},
		{"mark=/logo.png&mark-align=middle", "wm=center_5_5_100_0_%2Flogo.png"},
		{"mark=/a,b_c.png", "wm=southeast_5_5_100_0_%2Fa%2Cb_c.png"},
		{"w=100&mark=/logo.png", "w=100,wm=southeast_5_5_100_0_%2Flogo.png"},
	}
	for _, tt := range imgix {
		s, _, err := ParseImgix(mustQuery(t, tt.query))
		if err != nil {
			t.Errorf("ParseImgix(%q): %v", tt.query, err)
			continue
		}
		if got := s.Canonical(); got != tt.want {
			t.Errorf("ParseImgix(%q) = %q, want %q", tt.query, got, tt.want)
		}
	}
	oss := []struct{ process, want string }{
		{"image/watermark,image_bG9nby5wbmc", "wm=southeast_10_10_100_0_%2Flogo.png"},
		{"image/watermark,image_bG9nby5wbmc,g_nw,x_0,y_5,t_90", "wm=northwest_0_5_90_0_%2Flogo.png"},
		{"image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8zMA,g_center", "wm=center_10_10_100_30_%2Flogo.png"},
		{"image/watermark,image_ZGlyL2xvZ28ucG5n", "wm=southeast_10_10_100_0_%2Fdir%2Flogo.png"},
	}
	for _, tt := range oss {
		s, err := ParseOSS(tt.process)
		if err != nil {
			t.Errorf("ParseOSS(%q): %v", tt.process, err)
			continue
		}
		if got := s.Canonical(); got != tt.want {
			t.Errorf("ParseOSS(%q) = %q, want %q", tt.process, got, tt.want)
		}
	}
}

// TestWatermarkRefused: anything that could name another host, escape the
// path or need text rendering is a ParamError.
func TestWatermarkRefused(t *testing.T) {
	imgix := []struct{ query, param string }{
		{"mark=//evil.com/x.png", "mark"},
		{"mark=http://evil.com/x.png", "mark"},
		{"mark=https%3A%2F%2Fevil.com%2Fx.png", "mark"},
		{"mark=logo.png", "mark"},
		{"mark=/a/../b.png", "mark"},
		{"mark=/a/%2e%2e/b.png", "mark"},
		{"mark=/a%5Cb.png", "mark"},
		{"mark=/a%0Ab.png", "mark"},
		{"mark=/a.png%3Fx=1", "mark"},
		{"mark=", "mark"},
		{"mark=/l.png&mark-alpha=0", "mark-alpha"},
		{"mark=/l.png&mark-w=2", "mark-w"},
		{"mark=/l.png&mark-w=200", "mark-w"},
		{"mark=/l.png&mark-align=up", "mark-align"},
		{"mark=/l.png&mark-pad=-1", "mark-pad"},
		{"mark-alpha=50", "mark"},
	}
	for _, tt := range imgix {
		_, _, err := ParseImgix(mustQuery(t, tt.query))
		t.Run("imgix "+tt.query, func(t *testing.T) { wantParamErr(t, err, tt.param) })
	}
	oss := []struct{ process, param string }{
		{"image/watermark,text_aGVsbG8", "watermark.text"},
		{"image/watermark,image_bG9nby5wbmc,size_30", "watermark.size"},
		{"image/watermark,image_Ly9ldmlsLmNvbS94LnBuZw", "watermark.image"},
		{"image/watermark,image_YS8uLi9iLnBuZw", "watermark.image"},
		{"image/watermark,image_aHR0cDovL2V2aWwveC5wbmc", "watermark.image"},
		{"image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9ibHVyLHJfMw", "watermark.image"},
		{"image/watermark,image_!!", "watermark.image"},
		{"image/watermark,g_se", "watermark.image"},
		{"image/watermark,image_bG9nby5wbmc,g_middle", "watermark.g"},
		{"image/watermark,image_bG9nby5wbmc,t_0", "watermark.t"},
		{"image/watermark,image_bG9nby5wbmc,x_99999", "watermark.x"},
		{"image/watermark,image_bG9nby5wbmc,voffset_1", "watermark.voffset"},
	}
	for _, tt := range oss {
		_, err := ParseOSS(tt.process)
		t.Run("oss "+tt.process, func(t *testing.T) { wantParamErr(t, err, tt.param) })
	}
}
