package httpcache

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// hdr builds a header from name, value pairs; repeated names add lines.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestEvaluate(t *testing.T) {
	date := httpDate(t0)
	tests := []struct {
		name   string
		method string
		req    http.Header
		status int
		resp   http.Header
		h      Heuristic
		want   Freshness
	}{
		{name: "RFC9111-4.2.1 s-maxage beats max-age beats Expires",
			resp: hdr("Date", date, "Cache-Control", "max-age=60, s-maxage=120", "Expires", httpDate(t0.Add(time.Hour))),
			want: Freshness{Storable: true, TTL: 120 * time.Second, MustRevalidate: true}},
		{name: "RFC9111-5.3 max-age beats Expires",
			resp: hdr("Date", date, "Cache-Control", "max-age=60", "Expires", httpDate(t0.Add(time.Hour))),
			want: Freshness{Storable: true, TTL: 60 * time.Second}},
		{name: "RFC9111-4.2.1 Expires minus Date",
			resp: hdr("Date", date, "Expires", httpDate(t0.Add(time.Hour))),
			want: Freshness{Storable: true, TTL: time.Hour}},
		{name: "RFC9111-4.2.1 Date missing: Expires minus now",
			resp: hdr("Expires", httpDate(t0.Add(90*time.Second))),
			want: Freshness{Storable: true, TTL: 90 * time.Second}},
		{name: "RFC9111-5.3 Expires 0 is stale but storable",
			status: 500, resp: hdr("Date", date, "Expires", "0"),
			want: Freshness{Storable: true, TTL: 0}},
		{name: "RFC9111-5.3 Expires in the past is stale",
			resp: hdr("Date", date, "Expires", httpDate(t0.Add(-time.Hour))),
			want: Freshness{Storable: true, TTL: 0}},
		{name: "RFC9111-4.2.1 malformed max-age is stale",
			resp: hdr("Cache-Control", "max-age=soon", "Expires", httpDate(t0.Add(time.Hour))),
			want: Freshness{Storable: true, TTL: 0}},
		{name: "RFC9111-4.2.2 heuristic 10% of Date-Last-Modified",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-5*time.Hour))),
			want: Freshness{Storable: true, TTL: 30 * time.Minute, Heuristic: true}},
		{name: "RFC9111-4.2.2 heuristic clamped to 1h",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-100*time.Hour))),
			want: Freshness{Storable: true, TTL: time.Hour, Heuristic: true}},
		{name: "RFC9111-4.2.2 heuristic clamped to 10s",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-time.Minute))),
			want: Freshness{Storable: true, TTL: 10 * time.Second, Heuristic: true}},
		{name: "RFC9111-4.2.2 heuristic configurable",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-100*time.Hour))),
			h:    Heuristic{Percent: 50, Min: time.Minute, Max: 24 * time.Hour},
			want: Freshness{Storable: true, TTL: 24 * time.Hour, Heuristic: true}},
		{name: "RFC9111-4.2.2 heuristic with Date missing uses now",
			resp: hdr("Last-Modified", httpDate(t0.Add(-2*time.Hour))),
			want: Freshness{Storable: true, TTL: 12 * time.Minute, Heuristic: true}},
		{name: "RFC9111-4.2.2 Last-Modified after Date earns nothing",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(time.Hour))),
			want: Freshness{Storable: true}},
		{name: "RFC9111-3 no freshness and no validator: stored stale",
			resp: hdr("Date", date),
			want: Freshness{Storable: true}},
		{name: "RFC9111-4.2.2 no heuristic with explicit freshness",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-100*time.Hour)), "Cache-Control", "max-age=5"),
			want: Freshness{Storable: true, TTL: 5 * time.Second}},
		{name: "default TTL replaces the heuristic",
			resp: hdr("Date", date, "Last-Modified", httpDate(t0.Add(-5*time.Hour))),
			h:    Heuristic{Default: 2 * time.Hour},
			want: Freshness{Storable: true, TTL: 2 * time.Hour}},
		{name: "default TTL without any validator",
			status: 301, resp: hdr("Date", date), h: Heuristic{Default: time.Hour},
			want: Freshness{Storable: true, TTL: time.Hour}},
		{name: "default TTL yields to explicit freshness",
			resp: hdr("Date", date, "Cache-Control", "max-age=5"), h: Heuristic{Default: time.Hour},
			want: Freshness{Storable: true, TTL: 5 * time.Second}},
		{name: "default TTL yields to an already expired Expires",
			resp: hdr("Date", date, "Expires", "0"), h: Heuristic{Default: time.Hour},
			want: Freshness{Storable: true}},
		{name: "default TTL keeps no-cache",
			resp: hdr("Date", date, "Cache-Control", "no-cache"), h: Heuristic{Default: time.Hour},
			want: Freshness{Storable: true, NoCache: true, TTL: time.Hour}},
		{name: "default TTL leaves a 404 to the heuristic",
			status: 404, resp: hdr("Date", date), h: Heuristic{Default: time.Hour},
			want: Freshness{Storable: true}},
		{name: "RFC9111-5.2.2.5 no-store", resp: hdr("Cache-Control", "max-age=60, no-store"),
			want: Freshness{Reason: "no-store"}},
		{name: "RFC9111-5.2.1.5 request no-store", req: hdr("Cache-Control", "no-store"),
			resp: hdr("Cache-Control", "max-age=60"), want: Freshness{Reason: "request-no-store"}},
		{name: "RFC9111-5.2.2.7 private", resp: hdr("Cache-Control", "private, max-age=60"),
			want: Freshness{Reason: "private"}},
		{name: "RFC9111-5.2.2.7 qualified private stores, omits fields",
			resp: hdr("Cache-Control", `private="X-User", max-age=60`),
			want: Freshness{Storable: true, TTL: time.Minute, OmitFields: []string{"X-User"}}},
		{name: "RFC9111-5.2.2.4 no-cache is stored with NoCache",
			resp: hdr("Cache-Control", "no-cache, max-age=60"),
			want: Freshness{Storable: true, TTL: time.Minute, NoCache: true}},
		{name: "RFC9111-5.2.2.2 must-revalidate",
			resp: hdr("Cache-Control", "max-age=60, must-revalidate"),
			want: Freshness{Storable: true, TTL: time.Minute, MustRevalidate: true}},
		{name: "RFC9111-5.2.2.8 proxy-revalidate",
			resp: hdr("Cache-Control", "max-age=60, proxy-revalidate"),
			want: Freshness{Storable: true, TTL: time.Minute, MustRevalidate: true}},
		{name: "RFC5861 swr and sie carried",
			resp: hdr("Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=600"),
			want: Freshness{Storable: true, TTL: time.Minute, StaleWhileRevalidate: 30 * time.Second, StaleIfError: 10 * time.Minute}},
		{name: "RFC9111-3.5 Authorization without permission",
			req: hdr("Authorization", "Bearer x"), resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Reason: "authorization"}},
		{name: "RFC9111-3.5 Authorization with public",
			req: hdr("Authorization", "Bearer x"), resp: hdr("Cache-Control", "public, max-age=60"),
			want: Freshness{Storable: true, TTL: time.Minute}},
		{name: "RFC9111-3.5 Authorization with s-maxage",
			req: hdr("Authorization", "Bearer x"), resp: hdr("Cache-Control", "s-maxage=60"),
			want: Freshness{Storable: true, TTL: time.Minute, MustRevalidate: true}},
		{name: "RFC9111-3.5 Authorization with must-revalidate",
			req: hdr("Authorization", "Bearer x"), resp: hdr("Cache-Control", "max-age=60, must-revalidate"),
			want: Freshness{Storable: true, TTL: time.Minute, MustRevalidate: true}},
		{name: "RFC9213 CDN says no-store, CC says max-age",
			resp: hdr("Cache-Control", "max-age=600", "CDN-Cache-Control", "no-store"),
			want: Freshness{Reason: "no-store", Targeted: true}},
		{name: "RFC9213 CDN says max-age, CC says no-store",
			resp: hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600"),
			want: Freshness{Storable: true, TTL: 10 * time.Minute, Targeted: true}},
		{name: "RFC9213 CDN 'none' unlocks storage, heuristic applies",
			resp: hdr("Cache-Control", "private, max-age=600", "CDN-Cache-Control", "none", "Date", date, "Last-Modified", httpDate(t0.Add(-time.Hour))),
			want: Freshness{Storable: true, TTL: 6 * time.Minute, Heuristic: true, Targeted: true}},
		{name: "RFC9213-2.2 Expires ignored under CDN-Cache-Control",
			resp: hdr("Expires", httpDate(t0.Add(time.Hour)), "CDN-Cache-Control", "public", "Date", date),
			want: Freshness{Storable: true, Targeted: true}},
		{name: "RFC9213-2.2 empty CDN-Cache-Control falls back",
			resp: hdr("Cache-Control", "max-age=60", "CDN-Cache-Control", " , "),
			want: Freshness{Storable: true, TTL: time.Minute}},
		{name: "RFC9213 CDN s-maxage beats its max-age",
			resp: hdr("Cache-Control", "max-age=5", "CDN-Cache-Control", "max-age=60, s-maxage=30"),
			want: Freshness{Storable: true, TTL: 30 * time.Second, MustRevalidate: true, Targeted: true}},
		{name: "Set-Cookie never stored", resp: hdr("Cache-Control", "public, max-age=60", "Set-Cookie", "a=b"),
			want: Freshness{Reason: "set-cookie"}},
		{name: "RFC9111-4.1 Vary star", resp: hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"),
			want: Freshness{Reason: "vary-star"}},
		{name: "RFC9111-3 method", method: http.MethodPost, resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Reason: "method"}},
		{name: "HEAD stored", method: http.MethodHead, resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Storable: true, TTL: time.Minute}},
		{name: "206 not stored", status: 206, resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Reason: "partial"}},
		{name: "RFC9111-3 304 is not a storable response", status: 304, resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Reason: "status"}},
		{name: "RFC9110-15.1 404 heuristically cacheable", status: 404, resp: hdr("Date", date),
			want: Freshness{Storable: true}},
		{name: "RFC9111-3 500 without explicit freshness", status: 500, resp: hdr("Date", date),
			want: Freshness{Reason: "status"}},
		{name: "RFC9111-3 302 with max-age", status: 302, resp: hdr("Cache-Control", "max-age=60"),
			want: Freshness{Storable: true, TTL: time.Minute}},
		{name: "RFC9111-3 503 with public", status: 503, resp: hdr("Cache-Control", "public"),
			want: Freshness{Storable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			status := tt.status
			if status == 0 {
				status = 200
			}
			got := Evaluate(method, tt.req, status, tt.resp, t0, tt.h)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Evaluate\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHeuristicValidate(t *testing.T) {
	tests := []struct {
		name string
		h    Heuristic
		ok   bool
	}{
		{"zero means defaults", Heuristic{}, true},
		{"custom", Heuristic{Percent: 20, Min: time.Second, Max: time.Minute}, true},
		{"negative percent", Heuristic{Percent: -1}, false},
		{"negative min", Heuristic{Min: -time.Second}, false},
		{"negative default", Heuristic{Default: -time.Second}, false},
		{"min above max", Heuristic{Min: 2 * time.Hour}, false},
	}
	for _, tt := range tests {
		if err := tt.h.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestInitialAge(t *testing.T) {
	req, resp := t0, t0.Add(2*time.Second)
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"RFC9111-4.2.3 no Date no Age: response delay", hdr(), 2 * time.Second},
		{"RFC9111-4.2.3 Age plus delay", hdr("Age", "100", "Date", httpDate(resp)), 102 * time.Second},
		{"RFC9111-4.2.3 apparent age wins", hdr("Date", httpDate(t0.Add(-time.Minute))), 62 * time.Second},
		{"RFC9111-4.2.3 corrected age wins", hdr("Age", "300", "Date", httpDate(t0.Add(-time.Minute))), 302 * time.Second},
		{"RFC9111-4.2.3 Date in the future", hdr("Date", httpDate(t0.Add(time.Hour))), 2 * time.Second},
		{"RFC9111-5.1 invalid Age ignored", hdr("Age", "-5"), 2 * time.Second},
		{"RFC9111-1.2.2 huge Age saturates", hdr("Age", "999999999999"), (1<<31)*time.Second + 2*time.Second},
	}
	for _, tt := range tests {
		if got := InitialAge(tt.h, req, resp); got != tt.want {
			t.Errorf("%s: InitialAge = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A clock that stepped backwards must not make the age negative.
	if got := InitialAge(hdr(), resp, req); got != 0 {
		t.Errorf("negative delay: InitialAge = %v, want 0", got)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	req := hdr("Accept", "image/webp")
	resp := hdr("Date", httpDate(t0), "Cache-Control", "public, max-age=3600, stale-while-revalidate=60",
		"Last-Modified", httpDate(t0.Add(-time.Hour)), "Vary", "Accept", "Content-Type", "image/webp")
	b.ReportAllocs()
	for b.Loop() {
		_ = Evaluate(http.MethodGet, req, 200, resp, t0, Heuristic{})
	}
}
