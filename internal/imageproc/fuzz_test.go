package imageproc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// checkParsed: a parse either succeeds with a spec whose key is stable, or
// fails with a *ParamError the edge can turn into a 400.
func checkParsed(t *testing.T, s Spec, err error) {
	t.Helper()
	if err != nil {
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *ParamError", err, err)
		}
		return
	}
	if s.Canonical() != s.Canonical() {
		t.Fatal("Canonical is not deterministic")
	}
	if m := s.Watermark; m != nil {
		p := m.Path
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "..") ||
			strings.ContainsAny(p, "\\:%?#") || m.Opacity < 1 || m.Opacity > 100 || m.Scale < 0 || m.Scale > 100 {
			t.Fatalf("unsafe or out-of-range watermark accepted: %+v", *m)
		}
	}
	if s.Width < 0 || s.Width > MaxDimension || s.Height < 0 || s.Height > MaxDimension ||
		s.Quality < 0 || s.Quality > 100 || s.Blur < 0 || s.Blur > MaxBlurSigma || s.DPR > MaxDPR {
		t.Fatalf("limits not enforced: %+v", s)
	}
}

func FuzzParseImgix(f *testing.F) {
	for _, seed := range []string{"w=300&h=200&fit=crop&q=75&fm=webp", "auto=format,compress&dpr=2", "rect=1,2,3,4&bg=fff&flip=hv&rot=90", "blur=2000&sharp=100", "mark=/logo.png&mark-align=top,left&mark-alpha=40&mark-pad=3&mark-w=0.25", "mark=//evil.com/x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, _, err := ParseImgix(q)
		checkParsed(t, s, err)
	})
}

func FuzzParseOSS(f *testing.F) {
	for _, seed := range []string{"image/resize,m_fill,w_300,h_200/quality,q_75/format,webp", "image/crop,x_1,y_2,w_3,h_4,g_se/rotate,90", "image/blur,r_3,s_2/info", "image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8zMA,g_se,x_10,y_10,t_90", "image/watermark,image_Ly9ldmlsLmNvbS94LnBuZw,g_nw", "image/watermark,text_aGk"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, process string) {
		s, err := ParseOSS(process)
		checkParsed(t, s, err)
	})
}

func FuzzParseImageProcess(f *testing.F) {
	for _, seed := range []string{"resize,l_200/quality,q_90/format,webp", "auto-orient,0/sharpen,100/bright,-5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, process string) {
		s, err := ParseImageProcess(process)
		checkParsed(t, s, err)
	})
}

func FuzzNegotiateFormat(f *testing.F) {
	f.Add("image/avif;q=0,image/webp,*/*;q=0.8", "jpeg")
	f.Fuzz(func(t *testing.T, accept, source string) {
		got := NegotiateFormat(accept, source)
		if got != "avif" && got != "webp" && got != NegotiateFormat("", source) {
			t.Fatalf("NegotiateFormat(%q, %q) = %q: not avif, webp or the source", accept, source, got)
		}
	})
}
