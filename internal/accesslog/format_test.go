package accesslog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

var zoneMinus7 = time.FixedZone("MST", -7*3600)

func sampleRequest() *metrics.RequestInfo {
	return &metrics.RequestInfo{
		Start:        time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, zoneMinus7),
		Duration:     412 * time.Microsecond,
		Domain:       "img.example.com",
		Host:         "img.example.com",
		Method:       "GET",
		URI:          "/a/b.jpg?w=300",
		Proto:        "HTTP/1.1",
		RemoteIP:     "203.0.113.7",
		Status:       200,
		BytesSent:    1234,
		CacheStatus:  "hit",
		CacheHeader:  "pixcdn; hit; ttl=3599",
		OriginTime:   0,
		OriginServer: "",
		Referer:      "https://www.example.com/",
		UserAgent:    "Mozilla/5.0",
		RequestID:    "r-1",
	}
}

// jsonString is what encoding/json writes for s with HTML escaping off, the reference for
// appendJSONString.
func jsonString(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestJSONStringEscaping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`quote " and backslash \`, `"quote \" and backslash \\"`},
		{"ctl \x00\x01\x1f\b\f\n\r\t", `"ctl \u0000\u0001\u001f\b\f\n\r\t"`},
		{"del \x7f stays", "\"del \x7f stays\""},
		{"bad \xff\xfe utf8", `"bad \ufffd\ufffd utf8"`},
		{"cut \xe2\x82", `"cut \ufffd\ufffd"`},
		{"ok é € 😀", `"ok é € 😀"`},
		{"ls \u2028 ps \u2029", `"ls \u2028 ps \u2029"`},
		{"<html> & stays", `"<html> & stays"`},
		{"", `""`},
	} {
		got := string(appendJSONString(nil, tc.in))
		if got != tc.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if ref := jsonString(t, tc.in); got != ref {
			t.Errorf("appendJSONString(%q) = %s, encoding/json says %s", tc.in, got, ref)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", `"\`, "\x00\x1f\x7f", "\xff", "\u2028", "é😀", "a\xe2\x82b", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s)), jsonString(t, s); got != want {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json says %s", s, got, want)
		}
	})
}

func TestJSONLineFields(t *testing.T) {
	ri := sampleRequest()
	ri.OriginTime = 25 * time.Millisecond
	ri.OriginServer = "http://origin-1"
	ri.UserAgent = "evil\"\n\\\xff"
	line := appendJSON(nil, ri)
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v in %s", err, line)
	}
	want := map[string]any{
		"time": "2026-03-04T12:06:07.891Z", "remote_ip": "203.0.113.7", "method": "GET",
		"host": "img.example.com", "uri": "/a/b.jpg?w=300", "proto": "HTTP/1.1", "status": 200.0,
		"bytes": 1234.0, "duration_ms": 0.412, "cache": "hit", "cache_status": "pixcdn; hit; ttl=3599",
		"origin_ms": 25.0, "origin": "http://origin-1", "referer": "https://www.example.com/",
		"user_agent": "evil\"\n\\\ufffd", "request_id": "r-1", "domain": "img.example.com",
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields, want %d: %s", len(got), len(want), line)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestCombinedGolden(t *testing.T) {
	plain := sampleRequest()
	hostile := sampleRequest()
	hostile.URI = "/x\"y\\z\x01 ü"
	hostile.Referer = ""
	hostile.UserAgent = "ua \"quoted\"\r\nInjected: 1"
	hostile.RequestID = "id with space"
	hostile.CacheStatus = ""
	hostile.RemoteIP = "2001:db8::1"
	hostile.Start = time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	hostile.Duration = 2*time.Second + 500*time.Microsecond
	for _, tc := range []struct {
		name string
		ri   *metrics.RequestInfo
		want string
	}{
		{"plain", plain, `203.0.113.7 - - [04/Mar/2026:05:06:07 -0700] "GET /a/b.jpg?w=300 HTTP/1.1" 200 1234 "https://www.example.com/" "Mozilla/5.0" cache=hit dur_ms=0.412 rid=r-1` + "\n"},
		{"hostile", hostile, `2001:db8::1 - - [31/Dec/2026:23:59:59 +0000] "GET /x\x22y\x5cz\x01 \xc3\xbc HTTP/1.1" 200 1234 "-" "ua \x22quoted\x22\x0d\x0aInjected: 1" cache=- dur_ms=2000.5 rid=id\x20with\x20space` + "\n"},
	} {
		if got := string(appendCombined(nil, tc.ri)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestTimeFormatsMatchLayouts(t *testing.T) {
	zones := []*time.Location{time.UTC, zoneMinus7, time.FixedZone("IST", 5*3600+1800), time.FixedZone("odd", -(9*3600 + 30*60))}
	times := []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	}
	for _, z := range zones {
		for _, tm := range times {
			tm = tm.In(z)
			if got, want := string(appendRFC3339Millis(nil, tm)), tm.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
				t.Errorf("RFC3339 millis: got %s want %s", got, want)
			}
			if got, want := string(appendCLFTime(nil, tm)), tm.Format("02/Jan/2006:15:04:05 -0700"); got != want {
				t.Errorf("CLF: got %s want %s", got, want)
			}
		}
	}
}

func TestFormattingAllocatesNothing(t *testing.T) {
	ri := sampleRequest()
	buf := make([]byte, 0, 1024)
	if a := testing.AllocsPerRun(100, func() { buf = appendJSON(buf[:0], ri) }); a != 0 {
		t.Errorf("appendJSON allocates %.1f", a)
	}
	if a := testing.AllocsPerRun(100, func() { buf = appendCombined(buf[:0], ri) }); a != 0 {
		t.Errorf("appendCombined allocates %.1f", a)
	}
}

func TestAppendMillis(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"}, {412 * time.Microsecond, "0.412"}, {400 * time.Microsecond, "0.4"},
		{25 * time.Millisecond, "25"}, {2*time.Second + 500*time.Microsecond, "2000.5"},
		{1234567 * time.Nanosecond, "1.234"}, {5 * time.Microsecond, "0.005"}, {50 * time.Microsecond, "0.05"},
		{-1500 * time.Microsecond, "-1.5"},
	} {
		if got := string(appendMillis(nil, tc.d)); got != tc.want {
			t.Errorf("appendMillis(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

// FuzzCombinedLine holds that no field content can add a line or end a quoted field early.
func FuzzCombinedLine(f *testing.F) {
	f.Add("/a\"b", "ua\r\n", "id x", "GET")
	f.Add("\\\"", "\xff\x00", "", "")
	f.Fuzz(func(t *testing.T, uri, ua, rid, method string) {
		ri := sampleRequest()
		ri.URI, ri.UserAgent, ri.RequestID, ri.Method, ri.Referer = uri, ua, rid, method, uri
		line := appendCombined(nil, ri)
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("line break inside %q", line)
		}
		if n := bytes.Count(line, []byte(`"`)); n != 6 {
			t.Fatalf("%d quotes in %q, want 6", n, line)
		}
		if n := bytes.Count(line[bytes.LastIndexByte(line, '"'):], []byte(" ")); n != 3 {
			t.Fatalf("%d spaces after the last quote in %q, want 3", n, line)
		}
	})
}

// TestJSONStringWordBoundaries puts each byte that needs escaping at every position of strings
// of 1 to 24 bytes, so that the 8-byte fast path and its overlapping tail are held to
// encoding/json at every alignment.
func TestJSONStringWordBoundaries(t *testing.T) {
	for _, special := range []string{"\x00", "\x1f", "\"", "\\", "\x7f", "\x80", "\xff", "é", "\u2028"} {
		for n := 1; n <= 24; n++ {
			for pos := 0; pos+len(special) <= n; pos++ {
				s := strings.Repeat("a", pos) + special + strings.Repeat("b", n-pos-len(special))
				if got, want := string(appendJSONString(nil, s)), jsonString(t, s); got != want {
					t.Fatalf("appendJSONString(%q) = %s, encoding/json says %s", s, got, want)
				}
			}
		}
	}
}

// TestTimeCacheMatchesLayouts formats a sequence of times through one cache (same second,
// next second, back in time, another zone in the same second) and holds every result to
// time.Format.
func TestTimeCacheMatchesLayouts(t *testing.T) {
	base := time.Date(2026, 11, 22, 2, 40, 5, 123_000_000, time.UTC)
	ist := time.FixedZone("IST", 5*3600+1800)
	times := []time.Time{
		base, base.Add(500 * time.Millisecond), base.Add(900 * time.Millisecond),
		base.Add(time.Second), base.Add(-time.Second), base.In(ist), base.In(zoneMinus7).Add(time.Millisecond),
		base.Add(time.Hour), base, time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC),
	}
	var tc timeCache
	for _, tm := range times {
		if got, want := string(tc.appendUTCMillis(nil, tm)), tm.UTC().Format("2006-01-02T15:04:05.000Z07:00"); got != want {
			t.Errorf("cached RFC3339 of %v: got %s want %s", tm, got, want)
		}
		if got, want := string(tc.appendCLF(nil, tm)), tm.Format("02/Jan/2006:15:04:05 -0700"); got != want {
			t.Errorf("cached CLF of %v: got %s want %s", tm, got, want)
		}
	}
	ri := sampleRequest()
	if a := testing.AllocsPerRun(100, func() { _ = tc.appendJSON(make([]byte, 0, 1024)[:0], ri) }); a != 0 {
		t.Errorf("cached appendJSON allocates %.1f", a)
	}
}
