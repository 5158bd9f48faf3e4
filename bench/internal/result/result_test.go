package result

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	out := "ops: filling\nRESULT n=1 rate=0\nRESULT n=5000 hits=0 misses=5000 other=0 errors=0 duration_s=1.25 rate=4000 first=12.5us\n"
	f, err := Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if f.I("n") != 5000 || f.F("duration_s") != 1.25 || f["first"] != "12.5us" {
		t.Errorf("fields %v", f)
	}
	if _, ok := f.Int("first"); ok {
		t.Error("12.5us read as an integer")
	}
	if err := f.Need("n", "hits", "violations"); err == nil {
		t.Error("missing violations not reported")
	}
	if _, err := Parse([]byte("nothing\n")); !errors.Is(err, ErrNone) {
		t.Errorf("no line: %v", err)
	}
	if _, err := ParseLine("RESULT a=1 b"); err == nil {
		t.Error("b without a value accepted")
	}
}
