package edge

import (
	"net/http"
	"strconv"
	"testing"
)

// A domain with server_timing repeats each response's Cache-Status as Server-Timing, miss and
// hit alike; one without sends none.
func TestServerTiming(t *testing.T) {
	origin := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("body"))
	}
	hs := newHarness(t, origin, harnessOpt{domainYAML: "    server_timing: true\n"})
	for range 2 {
		r := hs.get("/a.css")
		if want := "cdn-cache;desc=" + strconv.Quote(r.cacheStatus()); r.Header.Get("Server-Timing") != want || r.cacheStatus() == "" {
			t.Fatalf("Server-Timing %q, want %q", r.Header.Get("Server-Timing"), want)
		}
	}
	plain := newHarness(t, origin, harnessOpt{})
	if st := plain.get("/a.css").Header.Get("Server-Timing"); st != "" {
		t.Fatalf("without server_timing: %q", st)
	}
}
