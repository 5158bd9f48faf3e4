// Package result reads the one machine-readable line the benchmark helpers (bench/cmd/ops,
// access, imgsoak...) and the wrk scripts of bench/wrk print for the harness:
// "RESULT key=value key=value ...".
package result

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fields are the key=value pairs of one RESULT line, values as printed.
type Fields map[string]string

// ErrNone means the output holds no RESULT line.
var ErrNone = errors.New("no RESULT line")

// Parse reads the last RESULT line of out.
func Parse(out []byte) (Fields, error) {
	var line string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "RESULT ") {
			line = l
		}
	}
	if line == "" {
		return nil, ErrNone
	}
	return ParseLine(line)
}

// ParseLine reads one "RESULT k=v ..." line.
func ParseLine(line string) (Fields, error) {
	rest, ok := strings.CutPrefix(line, "RESULT ")
	if !ok {
		return nil, ErrNone
	}
	f := Fields{}
	for _, kv := range strings.Fields(rest) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("RESULT field %q is not key=value", kv)
		}
		f[k] = v
	}
	return f, nil
}

// Int is the integer value of key; ok is false when it is absent or not an integer.
func (f Fields) Int(key string) (n int64, ok bool) {
	n, err := strconv.ParseInt(f[key], 10, 64)
	return n, err == nil
}

// Float is the number value of key; ok is false when it is absent or not a number.
func (f Fields) Float(key string) (x float64, ok bool) {
	x, err := strconv.ParseFloat(f[key], 64)
	return x, err == nil
}

// I is Int without the ok: 0 when absent (a table cell of a helper that printed nothing).
func (f Fields) I(key string) int64 { n, _ := f.Int(key); return n }

// F is Float without the ok.
func (f Fields) F(key string) float64 { x, _ := f.Float(key); return x }

// Need returns the first of keys missing from f, as an error.
func (f Fields) Need(keys ...string) error {
	for _, k := range keys {
		if _, ok := f[k]; !ok {
			return fmt.Errorf("RESULT has no %s", k)
		}
	}
	return nil
}
