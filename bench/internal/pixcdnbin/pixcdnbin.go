// Package pixcdnbin builds the pixcdn binary of the module a benchmark program runs in, for the
// programs that measure `pixcdn` processes (bench/cmd/control, router, h3).
package pixcdnbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ModuleRoot is the directory of the pixcdn module the program runs in (go env GOMOD).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the pixcdn module: run from the repository (or give -bin)")
	}
	return filepath.Dir(mod), nil
}

// Build builds ./cmd/pixcdn of that module into dir and returns the binary's path; the build
// is given 5 minutes.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pixcdn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pixcdn")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pixcdn: %v\n%s", err, out)
	}
	return bin, nil
}
