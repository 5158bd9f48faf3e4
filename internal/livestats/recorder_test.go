package livestats

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

var t0 = time.Unix(1_700_000_000, 0)

func req(domain, class string, status int, bytes int64, d time.Duration) *metrics.RequestInfo {
	return &metrics.RequestInfo{Domain: domain, CacheStatus: class, Status: status, BytesSent: bytes, Duration: d}
}

func TestSampleDeltas(t *testing.T) {
	r := NewRecorder()
	r.SetDomains([]string{"a.example", "b.example"})
	r.Sample(t0) // the baseline
	r.Request(req("a.example", "hit", 200, 1000, time.Millisecond))
	r.Request(req("a.example", "stale", 200, 500, 2*time.Millisecond))
	r.Request(req("a.example", "miss", 200, 500, 50*time.Millisecond))
	r.Request(req("a.example", "error", 502, 100, 3*time.Second))
	r.Request(req("nowhere.example", "", 421, 10, 20*time.Microsecond))
	r.OriginRequest("a.example", false)
	r.OriginRequest("a.example", true)

	s := r.Sample(t0.Add(time.Second))
	if s.Time != t0.Unix()+1 || s.Interval != 1 {
		t.Fatalf("time %d interval %v", s.Time, s.Interval)
	}
	a := s.Domains["a.example"]
	want := Counters{Requests: 4, Bytes: 2100, Hits: 2, HitBytes: 1500, Errors: 1, OriginRequests: 2, OriginErrors: 1,
		RequestHitRatio: 0.5, ByteHitRatio: 0.7143}
	got := a.Counters
	got.P50, got.P90, got.P99 = 0, 0, 0
	if got != want {
		t.Errorf("a.example:\n got %+v\nwant %+v", got, want)
	}
	if lo, hi := bucketBounds(bucketOf(2 * time.Millisecond)); a.P50 < millis(lo) || a.P50 > millis(hi) {
		t.Errorf("p50 %v ms, want in the bucket of 2 ms", a.P50)
	}
	if _, ok := s.Domains["b.example"]; ok {
		t.Error("b.example served nothing but is listed")
	}
	if u := s.Domains[""]; u.Requests != 1 || u.Bytes != 10 {
		t.Errorf("unknown host: %+v", u)
	}
	if s.Totals.Requests != 5 || s.Totals.Bytes != 2110 || s.Totals.OriginRequests != 2 {
		t.Errorf("totals %+v", s.Totals.Counters)
	}

	r.Request(req("b.example", "hit", 200, 7, time.Millisecond))
	s = r.Sample(t0.Add(2 * time.Second))
	if len(s.Domains) != 1 || s.Domains["b.example"].Requests != 1 || s.Totals.Requests != 1 {
		t.Errorf("second interval counts more than it saw: %+v", s)
	}
	if s = r.Sample(t0.Add(3 * time.Second)); s.Domains != nil || s.Totals.Requests != 0 {
		t.Errorf("an idle second: %+v", s)
	}
}

// TestSetDomainsKeepsCounts checks that a reload keeps the counts of the names that stay,
// reports a removed name's last counts once, and files a removed name's requests as unknown.
func TestSetDomainsKeepsCounts(t *testing.T) {
	r := NewRecorder()
	r.SetDomains([]string{"keep", "gone"})
	r.Sample(t0)
	r.Request(req("keep", "hit", 200, 1, time.Millisecond))
	r.Request(req("gone", "hit", 200, 1, time.Millisecond))
	r.SetDomains([]string{"keep", "new"})
	r.Request(req("gone", "miss", 200, 1, time.Millisecond))
	r.Request(req("new", "miss", 200, 1, time.Millisecond))
	s := r.Sample(t0.Add(time.Second))
	for name, want := range map[string]uint64{"keep": 1, "gone": 1, "new": 1, "": 1} {
		if got := s.Domains[name].Requests; got != want {
			t.Errorf("%q: %d requests, want %d", name, got, want)
		}
	}
	r.Request(req("keep", "hit", 200, 1, time.Millisecond))
	s = r.Sample(t0.Add(2 * time.Second))
	if _, ok := s.Domains["gone"]; ok || s.Domains["keep"].Requests != 1 {
		t.Errorf("after the reload: %+v", s.Domains)
	}
}

func TestSampleProcess(t *testing.T) {
	r := NewRecorder()
	start := time.Now()
	for time.Since(start) < 20*time.Millisecond { // burn some CPU to measure
	}
	s := r.Sample(time.Now())
	if s.Totals.HeapBytes == 0 {
		t.Error("no heap size")
	}
	if s.Totals.CPUPercent < 0 || s.Totals.CPUPercent > 100*float64(64) {
		t.Errorf("cpu %v %%", s.Totals.CPUPercent)
	}
	if rss() > 0 && s.Totals.RSSBytes < s.Totals.HeapBytes/2 {
		t.Errorf("rss %d below heap %d", s.Totals.RSSBytes, s.Totals.HeapBytes)
	}
}

// TestSampleJSON checks the wire form: zero counters and idle domains left out, the
// histogram sparse, and a round trip that loses nothing.
func TestSampleJSON(t *testing.T) {
	r := NewRecorder()
	r.SetDomains([]string{"a", "idle"})
	r.Sample(t0)
	r.Request(req("a", "miss", 200, 100, 15*time.Microsecond))
	s := r.Sample(t0.Add(time.Second))
	s.Node, s.POP = "n1", "fra"
	s.Totals.CPUPercent, s.Totals.RSSBytes, s.Totals.HeapBytes = 0, 0, 0 // the process's, not the test's
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"node":"n1","pop":"fra","time":1700000001,"interval":1,` +
		`"totals":{"requests":1,"bytes":100,"p50_ms":0.016,"p90_ms":0.016,"p99_ms":0.016},` +
		`"domains":{"a":{"requests":1,"bytes":100,"p50_ms":0.016,"p90_ms":0.016,"p99_ms":0.016,"hist":[[3,1]]}}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Sample
	if err := json.Unmarshal(b, &back); err != nil || back.Domains["a"].Hist[0] != [2]uint64{3, 1} {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if strings.Contains(string(b), "idle") {
		t.Error("idle domain listed")
	}
}

func TestRequestAllocatesNothing(t *testing.T) {
	r := NewRecorder()
	r.SetDomains([]string{"img.example.com"})
	ri := req("img.example.com", "hit", 200, 512, 300*time.Microsecond)
	unknown := req("other.example", "miss", 200, 512, time.Millisecond)
	for name, fn := range map[string]func(){
		"Request":         func() { r.Request(ri) },
		"Request unknown": func() { r.Request(unknown) },
		"OriginRequest":   func() { r.OriginRequest("img.example.com", true) },
	} {
		if a := testing.AllocsPerRun(1000, fn); a != 0 {
			t.Errorf("%s allocates %.1f per call, want 0", name, a)
		}
	}
}

func BenchmarkRecorderRequest(b *testing.B) {
	r := NewRecorder()
	names := []string{"a.example", "b.example", "c.example", "img.example.com"}
	r.SetDomains(names)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ri := req("img.example.com", "hit", 200, 2048, 180*time.Microsecond)
		for pb.Next() {
			r.Request(ri)
		}
	})
	if s := r.Sample(time.Now()); s.Domains["img.example.com"].Requests != uint64(b.N) {
		b.Fatalf("counted %d of %d", s.Domains["img.example.com"].Requests, b.N)
	}
}

// TestRecorderConcurrent counts from several goroutines while the domains are reloaded and
// sampled: no count of a domain that stays is lost (run with -race).
func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder()
	r.SetDomains([]string{"stay"})
	const workers, each = 4, 5000
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			ri := req("stay", "hit", 200, 1, time.Millisecond)
			for range each {
				r.Request(ri)
			}
		}()
	}
	var total uint64
	for finished := 0; finished < workers; {
		select {
		case <-done:
			finished++
		default:
			r.SetDomains([]string{"stay", "flap"})
			r.SetDomains([]string{"stay"})
			total += r.Sample(time.Now()).Domains["stay"].Requests
		}
	}
	total += r.Sample(time.Now()).Domains["stay"].Requests
	if total != workers*each {
		t.Fatalf("counted %d of %d", total, workers*each)
	}
}
