package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Size is a number of bytes, written "1024", "512KB", "64MB", "256MiB" or "1GiB": decimal units
// (KB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers of 1024. Units are
// case-insensitive; the number is a whole, non-negative integer.
type Size int64

// Duration is a time.Duration written the way time.ParseDuration reads it: "10s", "1h30m", "24h".
type Duration time.Duration

var sizeUnits = []struct {
	suffix string
	mult   int64
}{ // longest suffixes first so "KiB" is not read as "B"
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

var errSizeSyntax = errors.New(`want a whole number of bytes with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. "64MiB"`)

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	lower := strings.ToLower(num)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	if num == "" || num[0] == '+' || num[0] == '-' {
		return 0, fmt.Errorf("invalid size %q: %w", s, errSizeSyntax)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, errSizeSyntax)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n * mult), nil
}

// String writes s with the largest binary unit that divides it, so it reads back unchanged.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// UnmarshalYAML reads a Size, naming the line of a bad value.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: "expected a size such as 64MiB, got " + kindName(n)}
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*s = v
	return nil
}

// MarshalText writes s as String does, so JSON and YAML output read back.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a Size.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	*s = v
	return err
}

// String is time.Duration's String.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads a Duration, naming the line of a bad value.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: `expected a duration such as "10s", got ` + kindName(n)}
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return &Error{Line: n.Line, Msg: fmt.Sprintf(`invalid duration %q: want a number with a unit (ms, s, m, h), e.g. "10s" or "1h30m"`, n.Value)}
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "a scalar"
}

// Loops is a number of event loops: "auto" (one per CPU the process may use), "off" (0), or a
// count.
type Loops int

// LoopsAuto is "auto".
const LoopsAuto Loops = -1

// ParseLoops reads "auto", "off" or a count.
func ParseLoops(s string) (Loops, error) {
	switch s = strings.TrimSpace(s); s {
	case "auto":
		return LoopsAuto, nil
	case "off":
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1024 {
		return 0, fmt.Errorf("invalid event loop count %q: want auto, off or a number from 0 to 1024", s)
	}
	return Loops(n), nil
}

// Count is the number of loops for a process that may use procs CPUs.
func (l Loops) Count(procs int) int {
	if l == LoopsAuto {
		return max(procs, 1)
	}
	return int(l)
}

func (l Loops) String() string {
	switch l {
	case LoopsAuto:
		return "auto"
	case 0:
		return "off"
	}
	return strconv.Itoa(int(l))
}

// UnmarshalYAML reads a Loops, naming the line of a bad value.
func (l *Loops) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Msg: "expected auto, off or a number of loops, got " + kindName(n)}
	}
	v, err := ParseLoops(n.Value)
	if err != nil {
		return &Error{Line: n.Line, Msg: err.Error()}
	}
	*l = v
	return nil
}

// MarshalText writes l as String does.
func (l Loops) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a Loops.
func (l *Loops) UnmarshalText(b []byte) error {
	v, err := ParseLoops(string(b))
	*l = v
	return err
}
