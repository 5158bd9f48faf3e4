package edge

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pixcdn/pixcdn/internal/config"
)

// reload parses doc and reloads the edge with it.
func (hs *harness) reload(t *testing.T, doc string) error {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	return hs.edge.Reload(cfg)
}

// TestReloadKeepsUnchangedDomains: a domain whose configuration did not change keeps its
// origin's passive health across a reload; one that changed starts afresh; the version the
// node reports follows the configuration.
func TestReloadKeepsUnchangedDomains(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}, harnessOpt{domainYAML: "      failover_statuses: [503]\n"})
	for range 3 {
		hs.get("/x")
	}
	if n := hs.originFailures(t); n < 3 {
		t.Fatalf("failures %d before the reload", n)
	}
	v1 := hs.edge.ConfigVersion()
	if err := hs.reload(t, hs.doc); err != nil {
		t.Fatal(err)
	}
	if n := hs.originFailures(t); n < 3 {
		t.Fatalf("an unchanged domain lost its origin's health on reload: %d failures", n)
	}
	if hs.edge.ConfigVersion() != v1 {
		t.Fatalf("an equal configuration changed version: %s, %s", v1, hs.edge.ConfigVersion())
	}
	changed := hs.doc + "    cache:\n      heuristic_percent: 20\n"
	if err := hs.reload(t, changed); err != nil {
		t.Fatal(err)
	}
	if n := hs.originFailures(t); n != 0 {
		t.Fatalf("a changed domain kept the old origin: %d failures", n)
	}
	if hs.edge.ConfigVersion() == v1 {
		t.Fatal("a changed configuration kept its version")
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestReloadClosesWhatItReplaces: reloads that replace a filesystem origin close its directory
// handle, and failed reloads close what they had built, so neither leaks a descriptor.
func TestReloadClosesWhatItReplaces(t *testing.T) {
	hs := newHarness(t, static("x"), harnessOpt{})
	root := t.TempDir()
	certDir := t.TempDir()
	cert, key, _ := selfSigned(t, certDir, "tls.example.com")
	doc := func(i int, tlsFiles string) string {
		return hs.doc + "  - name: files.example.com\n    origin:\n      root: " + root +
			"\n    cache: {heuristic_percent: " + string(rune('0'+i%10)) + "}\n" + tlsFiles
	}
	tlsDomain := "  - name: tls.example.com\n    origin: {root: " + root + "}\n    tls: {cert: " + cert + ", key: " + key + "}\n"
	if err := hs.reload(t, doc(0, "")); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	for i := 1; i <= 20; i++ {
		if err := hs.reload(t, doc(i, "")); err != nil { // a changed fs domain: a new root each time
			t.Fatal(err)
		}
	}
	// Valid when parsed; the key gone by the time the domain is built: the build fails after
	// the fs domain was opened.
	for i := 0; i < 20; i++ {
		cfg, err := config.Parse([]byte("tls_listen: \"127.0.0.1:0\"\n"+doc(i+1, tlsDomain)), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		os.Rename(key, key+".away")
		err = hs.edge.Reload(cfg)
		os.Rename(key+".away", key)
		if err == nil || !strings.Contains(err.Error(), "tls") {
			t.Fatalf("reload with a missing key: %v", err)
		}
	}
	if after := openFDs(t); after > before+3 {
		t.Fatalf("open descriptors %d -> %d over 40 reloads: replaced or half-built origins leak", before, after)
	}
	expect(t, hs.get("/ok"), 200, "x") // and the edge still serves
	if _, err := os.Stat(filepath.Join(root)); err != nil {
		t.Fatal(err)
	}
}
