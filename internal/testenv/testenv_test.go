package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes how the test ended instead of ending it.
type recorder struct {
	testing.TB
	ended string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skip(args ...any)          { r.ended = "skip: " + fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, a ...any) { r.ended = "fail: " + fmt.Sprintf(f, a...) }

func TestMissingTool(t *testing.T) {
	for _, tc := range []struct{ ci, skip, want string }{
		{"", "", "fail: dig is missing (scripts/test.sh"},
		{"", "1", "skip: dig is missing"},
		{"true", "1", "fail: dig is missing"}, // CI never skips
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv(SkipVar, tc.skip)
		r := &recorder{TB: t}
		MissingTool(r, "dig is missing")
		if !strings.HasPrefix(r.ended, tc.want) {
			t.Errorf("CI=%q %s=%q: %q, want %q...", tc.ci, SkipVar, tc.skip, r.ended, tc.want)
		}
	}
}
