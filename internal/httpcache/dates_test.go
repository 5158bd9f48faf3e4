package httpcache

import (
	"net/http"
	"testing"
	"time"
)

// RFC 9110 5.6.7: an HTTP-date is IMF-fixdate, or one of the two obsolete forms a recipient
// must accept; nothing looser.
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", true},   // IMF-fixdate
		{"Sunday, 06-Nov-94 08:49:37 GMT", true},  // obsolete RFC 850 format
		{"Sun Nov  6 08:49:37 1994", true},        // ANSI C's asctime() format
		{"Sun, 06 Nov 1994 8:49:37 GMT", false},   // a one-digit hour
		{"Sun, 06 Nov 1994  08:49:37 GMT", false}, // extra spaces
		{"Sun,  06 Nov 1994 08:49:37 GMT", false},
		{"Mon, 06 Nov 1994 08:49:37 GMT", false}, // the wrong weekday
		{"Sun, 06 Nov 1994 08:49:37 UTC", false}, // only GMT
		{"0", false},
		{"", false},
	} {
		got, ok := ParseHTTPDate(tc.in)
		if ok != tc.ok || ok && !got.Equal(want) {
			t.Errorf("%q: %v %v, want ok=%v", tc.in, got, ok, tc.ok)
		}
	}
}

// RFC 9111 5.3: an invalid Expires, several Expires lines included, means already expired.
func TestExpiresStrict(t *testing.T) {
	date := httpDate(t0)
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		expires []string
		want    time.Duration
	}{
		{"valid", []string{httpDate(later)}, time.Hour},
		{"one-digit hour", []string{later.UTC().Format("Mon, 02 Jan 2006 3:04:05 GMT")}, 0},
		{"extra spaces", []string{later.UTC().Format("Mon, 02 Jan 2006  15:04:05 GMT")}, 0},
		{"several field lines", []string{httpDate(later), httpDate(later)}, 0},
		{"zero", []string{"0"}, 0},
	} {
		h := http.Header{"Date": {date}, "Expires": tc.expires}
		if got := expiresTTL(h, t0); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if f := Evaluate(http.MethodGet, http.Header{}, 200, h, t0, Heuristic{}); f.TTL != tc.want {
			t.Errorf("%s: Evaluate TTL %v, want %v", tc.name, f.TTL, tc.want)
		}
	}
}

// RFC 9111 5.1: a list-based Age uses its first member; an invalid one is ignored (0).
func TestAgeListFirstMember(t *testing.T) {
	req, resp := t0, t0
	for _, tc := range []struct {
		name string
		age  []string
		want time.Duration
	}{
		{"list", []string{"7200, 0"}, 7200 * time.Second},
		{"several lines", []string{"7200", "0"}, 7200 * time.Second},
		{"spaces", []string{" 60 , 5"}, 60 * time.Second},
		{"invalid first member", []string{"x, 7200"}, 0},
		{"negative", []string{"-1"}, 0},
	} {
		if got := InitialAge(http.Header{"Age": tc.age}, req, resp); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// RFC 9213 2.1 over RFC 8941: CDN-Cache-Control is a Structured Field dictionary; a field that
// does not parse as one, or a directive of the wrong type, is ignored whole: Cache-Control decides.
func TestCDNCacheControlIsAStructuredDictionary(t *testing.T) {
	for _, tc := range []struct {
		cdn  string
		want time.Duration // with Cache-Control: max-age=60
	}{
		{"max-age=10000", 10000 * time.Second},
		{"max-age=10000, stale-if-error=60", 10000 * time.Second},
		{"no-store, max-age=10000;a=1", 10000 * time.Second}, // parameters are allowed
		{"max-age=10000, &&&&&", 60 * time.Second},           // not a dictionary: ignored
		{`max-age="10000"`, 60 * time.Second},                // a string where an integer goes
		{"max-age=10.5", 60 * time.Second},                   // a decimal where an integer goes
		{"max-age=10000,", 60 * time.Second},                 // a trailing comma
		{"Max-Age=10000", 60 * time.Second},                  // keys are lowercase
		{"", 60 * time.Second},
	} {
		h := http.Header{"Date": {httpDate(t0)}, "Cache-Control": {"max-age=60"}}
		if tc.cdn != "" {
			h["Cdn-Cache-Control"] = []string{tc.cdn}
		}
		f := Evaluate(http.MethodGet, http.Header{}, 200, h, t0, Heuristic{})
		if tc.cdn == "no-store, max-age=10000;a=1" {
			if f.Storable {
				t.Errorf("%q: stored despite no-store", tc.cdn)
			}
			continue
		}
		if f.TTL != tc.want {
			t.Errorf("%q: TTL %v, want %v", tc.cdn, f.TTL, tc.want)
		}
	}
}

func FuzzValidCDNCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=1", `a="b\"c"`, "a=?1;x", "a, b=c/d:e", "max-age=-1.5", "&&", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { validCDNCacheControl([]string{s}) })
}
