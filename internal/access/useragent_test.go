package access

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"*c", "cb", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcb", false},
		{"*b*", "abc", true},
		{"*b*", "ac", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false}, // prefix and suffix must not overlap
		{"ab*ba", "abba", true},
		{"**", "x", true},
		{"*a*a*a*", "aa", false},
		{"*a*a*a*", "xaxaxa", true},
	}
	for _, tt := range tests {
		g := compileGlob(tt.pattern)
		if got := g.match(tt.s); got != tt.want {
			t.Errorf("glob %q match %q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestUARule(t *testing.T) {
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	deny, err := NewUARule(UAConfig{Mode: ModeDeny, Patterns: []string{"*curl*", "python-requests/*", "*BOT"}, AllowEmpty: false})
	if err != nil {
		t.Fatal(err)
	}
	allow, err := NewUARule(UAConfig{Mode: ModeAllow, Patterns: []string{"mozilla/5.0 *", "MyApp/*"}, AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ua          string
		deny, allow bool
	}{
		{chrome, true, true},
		{"curl/8.5.0", false, false},
		{"CURL/8", false, false},
		{"python-requests/2.31", false, false},
		{"xpython-requests/2.31", true, false},
		{"SomeBot", false, false},
		{"SomeBot/1.0", true, false}, // "*BOT" is anchored at the end
		{"myapp/3.1 (iOS)", true, true},
		{"Mozilla/5.0", true, false}, // "mozilla/5.0 *" needs the space
		{"", false, true},            // the empty rule, both modes
		{"  ", false, true},
	}
	for _, tt := range tests {
		if got := deny.Allowed(tt.ua); got != tt.deny {
			t.Errorf("deny: Allowed(%q) = %v, want %v", tt.ua, got, tt.deny)
		}
		if got := allow.Allowed(tt.ua); got != tt.allow {
			t.Errorf("allow: Allowed(%q) = %v, want %v", tt.ua, got, tt.allow)
		}
	}
}

func TestUAConfigValidate(t *testing.T) {
	if err := (UAConfig{Mode: ModeAllow, Patterns: []string{"a*"}}).Validate(); err != nil {
		t.Error(err)
	}
	for _, c := range []UAConfig{{Mode: "x"}, {Mode: ModeDeny, Patterns: []string{"ok", " "}}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
}

// TestUAPathological: the inputs that make backtracking matchers exponential stay linear here.
func TestUAPathological(t *testing.T) {
	r, _ := NewUARule(UAConfig{Mode: ModeDeny, Patterns: []string{strings.Repeat("*a", 30) + "*b"}})
	ua := strings.Repeat("a", 8192)
	start := time.Now()
	for range 100 {
		if !r.Allowed(ua) {
			t.Fatal("matched without a b")
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("100 pathological matches took %v", d)
	}
}

func BenchmarkUAAllowed(b *testing.B) {
	r, _ := NewUARule(UAConfig{Mode: ModeDeny, Patterns: []string{"*curl*", "*wget*", "python-*", "*bot*", "*spider*"}})
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	b.ReportAllocs()
	for b.Loop() {
		if !r.Allowed(ua) {
			b.Fatal("denied")
		}
	}
}

// FuzzGlob checks the star-splitting matcher against a regexp built from the same pattern.
func FuzzGlob(f *testing.F) {
	f.Add("a*b*c", "aXbYc")
	f.Add("*a*a*", "aa")
	f.Add("ab*ba", "aba")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // the regexp reference needs valid UTF-8
		}
		parts := strings.Split(pattern, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
		g := compileGlob(pattern)
		if got, want := g.match(s), re.MatchString(s); got != want {
			t.Fatalf("glob %q match %q = %v, regexp says %v", pattern, s, got, want)
		}
	})
}
