package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestExampleConfig parses examples/pixcdn.yaml as shipped, with only its TLS files pointed at
// a generated pair and its secrets in the environment, and compares the result with a golden dump.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../examples/pixcdn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := writeKeyPair(t, dir, "img.example.com")
	doc := strings.NewReplacer("/etc/pixcdn/tls/img.example.com.crt", cert, "/etc/pixcdn/tls/img.example.com.key", key).Replace(string(data))
	env := map[string]string{"PIXCDN_S3_ACCESS_KEY": "AKIAEXAMPLE", "PIXCDN_S3_SECRET_KEY": "secret"}
	c, err := parse([]byte(doc), "examples/pixcdn.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Domain("x.img.example.com"); d == nil || d.Name != "img.example.com" {
		t.Errorf("wildcard alias lookup = %v", d)
	}
	if r := c.Domain("img.example.com").Rule("/images/a.webp"); r == nil || r.TTL.String() != "168h0m0s" {
		t.Errorf("rule for /images/a.webp = %+v", r)
	}
	c.Domains[0].TLS = &TLS{Cert: "CERT", Key: "KEY"} // temp paths differ per run
	got, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "example.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestExampleConfig -update)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("parsed example differs from %s (run with -update after checking):\n%s", golden, got)
	}
}
