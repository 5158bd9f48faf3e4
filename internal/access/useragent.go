package access

import (
	"fmt"
	"strings"

	"github.com/maypok86/otter/v2"
)

// UAConfig is one domain's User-Agent list.
type UAConfig struct {
	Mode Mode
	// Patterns are globs over the whole User-Agent, case-insensitive, where '*' stands for any run
	// of characters (including none) and every other character for itself: "*curl*", "Mozilla/5.0 *".
	Patterns []string
	// AllowEmpty lets requests without a User-Agent through, in either mode; when false they are
	// refused in either mode (real browsers always send one).
	AllowEmpty bool
}

// Validate reports the first problem in c.
func (c UAConfig) Validate() error {
	_, err := NewUARule(c)
	return err
}

// UARule decides on User-Agent headers. It is safe for concurrent use.
type UARule struct {
	mode       Mode
	allowEmpty bool
	globs      []glob
	// decided remembers recent answers by header value: real traffic repeats a few thousand
	// User-Agents, so most checks are one lookup instead of a lowercase copy and every pattern.
	// Bounded, so a flood of made-up values only evicts.
	decided *otter.Cache[string, bool]
}

// uaMemoEntries bounds the remembered User-Agents (about 200 bytes each).
const uaMemoEntries = 8192

// NewUARule validates cfg and precompiles its patterns.
func NewUARule(cfg UAConfig) (*UARule, error) {
	if err := cfg.Mode.Validate(); err != nil {
		return nil, fmt.Errorf("access: user-agent: %w", err)
	}
	r := &UARule{mode: cfg.Mode, allowEmpty: cfg.AllowEmpty,
		decided: otter.Must(&otter.Options[string, bool]{MaximumSize: uaMemoEntries})}
	for _, p := range cfg.Patterns {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("access: user-agent pattern %q: empty (use AllowEmpty for the empty User-Agent)", p)
		}
		r.globs = append(r.globs, compileGlob(strings.ToLower(p)))
	}
	return r, nil
}

// Allowed reports whether a request with this User-Agent header value may be served.
func (r *UARule) Allowed(ua string) bool {
	if ok, found := r.decided.GetIfPresent(ua); found {
		return ok
	}
	ok := r.decide(ua)
	if len(ua) <= maxMemoUA {
		r.decided.Set(strings.Clone(ua), ok) // the caller's string may point into a reused buffer
	}
	return ok
}

// maxMemoUA leaves absurdly long values out of the memo.
const maxMemoUA = 1024

func (r *UARule) decide(ua string) bool {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return r.allowEmpty
	}
	ua = strings.ToLower(ua)
	for i := range r.globs {
		if r.globs[i].match(ua) {
			return r.mode.decide(true)
		}
	}
	return r.mode.decide(false)
}

// glob is a pattern split at its stars: parts[0] must be a prefix, the last part a suffix, and the
// parts between appear in order. Taking the leftmost occurrence of each middle part is always
// right for '*'-only globs, so matching is a few strings.Index calls: no backtracking, no regexp.
type glob struct {
	parts []string // len 1 means no star: the whole string must equal parts[0]
}

func compileGlob(p string) glob {
	return glob{parts: strings.Split(p, "*")}
}

func (g *glob) match(s string) bool {
	parts := g.parts
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}
