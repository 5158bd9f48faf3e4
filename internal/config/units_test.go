package config

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"1024", 1024, true},
		{"0", 0, true},
		{"512KB", 512_000, true},
		{"64MB", 64_000_000, true},
		{"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true},
		{"2TiB", 2 << 40, true},
		{"3tb", 3e12, true},
		{"10 kib", 10 << 10, true},
		{"7B", 7, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5GiB", 0, false},
		{"12XB", 0, false},
		{"1PiB", 0, false},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9000000TiB", 0, false}, // overflows int64
		{"0x10", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSizeString(t *testing.T) {
	for _, s := range []Size{0, 1, 1000, 1024, 1536, 256 << 20, 1 << 30, 5 << 40, 64_000_000} {
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("%d → %q → %d, %v", int64(s), s.String(), back, err)
		}
	}
	if got := Size(256 << 20).String(); got != "256MiB" {
		t.Errorf("String = %q", got)
	}
}

// Size and Duration report the line of a bad value even when decoded by yaml on its own.
func TestUnitsUnmarshalYAML(t *testing.T) {
	var v struct {
		S Size     `yaml:"s"`
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("s: 64MiB\nd: 1h30m\n"), &v); err != nil || v.S != 64<<20 || v.D.D() != 90*time.Minute {
		t.Fatalf("got %+v, %v", v, err)
	}
	for _, tt := range []struct {
		doc  string
		line int
	}{
		{"s: 1\nd: 10\n", 2},
		{"d: 1s\ns: big\n", 2},
		{"s: [1]\n", 1},
		{"d:\n  a: 1\n", 2},
	} {
		err := yaml.Unmarshal([]byte(tt.doc), &v)
		var ce *Error
		if !errors.As(err, &ce) || ce.Line != tt.line {
			t.Errorf("%q: error %v, want an *Error on line %d", tt.doc, err, tt.line)
		}
	}
}

func TestUnitsText(t *testing.T) {
	b, err := json.Marshal(struct {
		S Size
		D Duration
	}{64 << 20, Duration(90 * time.Second)})
	if err != nil || string(b) != `{"S":"64MiB","D":"1m30s"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	var s Size
	var d Duration
	if s.UnmarshalText([]byte("1KiB")) != nil || s != 1024 || d.UnmarshalText([]byte("2s")) != nil || d.D() != 2*time.Second {
		t.Errorf("UnmarshalText: %v %v", s, d)
	}
	if s.UnmarshalText([]byte("x")) == nil || d.UnmarshalText([]byte("x")) == nil {
		t.Error("UnmarshalText accepted garbage")
	}
}

func TestLoops(t *testing.T) {
	for in, want := range map[string]Loops{"auto": LoopsAuto, "off": 0, "0": 0, " 3 ": 3, "1024": 1024} {
		got, err := ParseLoops(in)
		if err != nil || got != want {
			t.Errorf("ParseLoops(%q) = %v, %v; want %v", in, got, err, want)
		}
		var back Loops
		if text, _ := got.MarshalText(); back.UnmarshalText(text) != nil || back != got {
			t.Errorf("%v does not read back from %q", got, text)
		}
	}
	for _, in := range []string{"", "-1", "1025", "two", "auto2"} {
		if _, err := ParseLoops(in); err == nil {
			t.Errorf("ParseLoops(%q) accepted", in)
		}
	}
	if LoopsAuto.Count(4) != 4 || LoopsAuto.Count(0) != 1 || Loops(2).Count(8) != 2 || Loops(0).Count(8) != 0 {
		t.Error("Count")
	}
}
