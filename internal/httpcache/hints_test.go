package httpcache

import (
	"slices"
	"testing"
)

func TestHintLinks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []string
		want   []string
	}{
		{"RFC8297-2 preload", []string{"</style.css>; rel=preload; as=style"}, []string{"</style.css>; rel=preload; as=style"}},
		{"two values on one line", []string{"</a.css>; rel=preload; as=style, </b.js>; rel=modulepreload"},
			[]string{"</a.css>; rel=preload; as=style", "</b.js>; rel=modulepreload"}},
		{"several lines", []string{"</a.css>; rel=preload", "<https://cdn.example>; rel=preconnect"},
			[]string{"</a.css>; rel=preload", "<https://cdn.example>; rel=preconnect"}},
		{"RFC8288-3.3 rel list, quoted", []string{`</f.woff2>; rel="preload prefetch"; as=font; crossorigin`},
			[]string{`</f.woff2>; rel="preload prefetch"; as=font; crossorigin`}},
		{"rel is case-insensitive", []string{"</a.css>; REL=Preload"}, []string{"</a.css>; REL=Preload"}},
		{"other relations are not hints", []string{"</next>; rel=next, <https://x.example/>; rel=canonical, </s.css>; rel=stylesheet"}, nil},
		{"RFC8288-3.3 only the first rel counts", []string{"</a.css>; rel=next; rel=preload"}, nil},
		{"comma inside the URI", []string{"</a,b.css>; rel=preload, </c.css>; rel=preload"},
			[]string{"</a,b.css>; rel=preload", "</c.css>; rel=preload"}},
		{"comma inside a quoted parameter", []string{`</a.css>; rel=preload; title="x, y", </b.css>; rel=preload`},
			[]string{`</a.css>; rel=preload; title="x, y"`, "</b.css>; rel=preload"}},
		{"no URI reference", []string{"/a.css; rel=preload"}, nil},
		{"unclosed URI", []string{"</a.css; rel=preload"}, nil},
		{"unclosed quote", []string{`</a.css>; rel="preload`}, nil},
		{"empty elements", []string{", ,</a.css>; rel=preload,"}, []string{"</a.css>; rel=preload"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HintLinks(tc.fields); !slices.Equal(got, tc.want) {
				t.Errorf("HintLinks(%q)\n got %q\nwant %q", tc.fields, got, tc.want)
			}
		})
	}
}
