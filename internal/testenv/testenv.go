// Package testenv decides what a test does when a program it runs against (versitygw, dig,
// chromium) is missing. A skipped test is invisible in a plain "go test ./..." (only "ok" is
// printed for a package that passes), so a missing program fails the test, naming how to
// install it, unless the developer asks for skips with PIXCDN_SKIP_MISSING_TOOLS=1. Under CI
// (CI set) it always fails: the suite there must be whole.
package testenv

import (
	"os"
	"testing"
)

// SkipVar is the environment variable that turns a missing program into a skip.
const SkipVar = "PIXCDN_SKIP_MISSING_TOOLS"

// MissingTool ends the test because a program it needs is missing; why says which and how to
// install it (e.g. "dig is not installed: sudo apt-get install dnsutils").
func MissingTool(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "" && os.Getenv(SkipVar) == "1" {
		t.Skip(why)
		return
	}
	t.Fatalf("%s (scripts/test.sh installs everything the suite needs; %s=1 skips such tests instead)", why, SkipVar)
}
