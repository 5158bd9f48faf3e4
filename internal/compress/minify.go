package compress

import (
	"bytes"
	"mime"
	"strings"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/html"
	"github.com/tdewolff/minify/v2/js"
)

// Minifier removes what browsers do not need from HTML, CSS and JavaScript (comments,
// whitespace, redundant syntax) before a body is compressed. Safe for concurrent use.
type Minifier struct {
	m     *minify.M
	kinds map[string]bool // "html", "css", "js"
}

// NewMinifier minifies the kinds named (any of "html", "css", "js"); nil for none.
func NewMinifier(kinds []string) *Minifier {
	if len(kinds) == 0 {
		return nil
	}
	mf := &Minifier{m: minify.New(), kinds: map[string]bool{}}
	for _, k := range kinds {
		mf.kinds[k] = true
	}
	mf.m.AddFunc("text/html", html.Minify)
	mf.m.AddFunc("text/css", css.Minify)
	mf.m.AddFunc("application/javascript", js.Minify)
	return mf
}

// kind maps a Content-Type to the minifier's media type, "" when it is not minified.
func (mf *Minifier) kind(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch {
	case mt == "text/html" && mf.kinds["html"]:
		return mt
	case mt == "text/css" && mf.kinds["css"]:
		return mt
	case mf.kinds["js"] && (mt == "application/javascript" || mt == "text/javascript" ||
		mt == "application/x-javascript" || mt == "application/ecmascript" || strings.HasSuffix(mt, "/ecmascript")):
		return "application/javascript"
	}
	return ""
}

// Minify returns b minified when its type is one the Minifier handles; otherwise, or when the
// minifier cannot parse it (broken markup is served as the origin sent it), b itself.
func (mf *Minifier) Minify(contentType string, b []byte) []byte {
	if mf == nil {
		return b
	}
	mt := mf.kind(contentType)
	if mt == "" {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := mf.m.Minify(mt, &out, bytes.NewReader(b)); err != nil {
		return b
	}
	return out.Bytes()
}
