package edge

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Through the edge: an Expires the HTTP-date grammar refuses is already expired, and an Age
// sent as a list counts its first member, so neither response is a fresh hit the next time.
func TestInvalidExpiresAndListAgeAreNotFresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header func(h http.Header, now time.Time)
	}{
		{"expires with a one-digit hour", func(h http.Header, now time.Time) {
			// Tomorrow at 9 o'clock, written with one hour digit: a lenient parser would find
			// it fresh whatever the time of day the test runs.
			h.Set("Expires", now.Add(24*time.Hour).UTC().Format("Mon, 02 Jan 2006")+" 9:04:05 GMT")
		}},
		{"expires on two lines", func(h http.Header, now time.Time) {
			h.Add("Expires", now.Add(time.Hour).UTC().Format(http.TimeFormat))
			h.Add("Expires", now.Add(time.Hour).UTC().Format(http.TimeFormat))
		}},
		{"age as a list", func(h http.Header, now time.Time) {
			h.Set("Cache-Control", "max-age=3600")
			h.Set("Age", "7200, 0")
		}},
	} {
		var hs *harness
		hs = newHarness(t, func(w http.ResponseWriter, r *http.Request) {
			tc.header(w.Header(), hs.clock.Now())
			w.Write([]byte("body"))
		}, harnessOpt{domainYAML: "    cache: {heuristic_percent: 0}\n"})
		hs.get("/a.txt")
		if cs := hs.get("/a.txt").cacheStatus(); strings.Contains(cs, "; hit") {
			t.Errorf("%s: the second request was a fresh hit: %q", tc.name, cs)
		}
	}
}

// A CDN-Cache-Control that is not a Structured Field dictionary, or whose max-age is a string,
// is ignored: the response's Cache-Control (max-age=0) decides, so the next request is no hit.
func TestMalformedCDNCacheControlIsIgnored(t *testing.T) {
	for cdn, wantHit := range map[string]bool{"max-age=10000": true, "max-age=10000, &&&&&": false, `max-age="10000"`: false} {
		hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=0")
			w.Header().Set("CDN-Cache-Control", cdn)
			w.Write([]byte("body"))
		}, harnessOpt{})
		hs.get("/a.txt")
		if cs := hs.get("/a.txt").cacheStatus(); strings.Contains(cs, "; hit") != wantHit {
			t.Errorf("CDN-Cache-Control %q: second request %q, want hit %v", cdn, cs, wantHit)
		}
	}
}
