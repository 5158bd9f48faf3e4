package httpcache_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// The edge's fill path: decide once at store time, then a hit only compares times.
func ExampleEvaluate() {
	sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	received := sent.Add(100 * time.Millisecond)
	resp := http.Header{}
	resp.Set("Date", received.Format(http.TimeFormat))
	resp.Set("Age", "20")
	resp.Set("Cache-Control", "max-age=60, stale-while-revalidate=30")
	resp.Set("CDN-Cache-Control", "max-age=3600")

	f := httpcache.Evaluate(http.MethodGet, http.Header{}, 200, resp, received, httpcache.Heuristic{})
	initial := httpcache.InitialAge(resp, sent, received)

	now := received.Add(10 * time.Minute)
	age := initial + now.Sub(received)
	st := httpcache.Status{Hit: true, TTL: f.TTL - age, HasTTL: true}
	fmt.Println(f.Storable, f.TTL, f.Targeted, f.StaleWhileRevalidate)
	fmt.Printf("%s\n", st.Append(nil, "pixcdn"))
	// Output:
	// true 1h0m0s true 0s
	// pixcdn; hit; ttl=2979
}
