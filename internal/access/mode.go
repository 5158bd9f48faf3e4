package access

import "fmt"

// Mode says whether a list names what is let through ("allow") or what is refused ("deny").
type Mode string

const (
	// ModeAllow lets through only what matches a pattern.
	ModeAllow Mode = "allow"
	// ModeDeny refuses what matches a pattern and lets the rest through.
	ModeDeny Mode = "deny"
)

// Validate reports whether m is one of the two modes; an empty mode is an error rather than a
// silent default because allow and deny have opposite failure directions.
func (m Mode) Validate() error {
	if m != ModeAllow && m != ModeDeny {
		return fmt.Errorf("access: mode %q: want %q or %q", string(m), ModeAllow, ModeDeny)
	}
	return nil
}

// decide turns "did it match" into "is it allowed" under m.
func (m Mode) decide(matched bool) bool {
	if m == ModeAllow {
		return matched
	}
	return !matched
}
