package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/admin/admintest"
)

// line is either a PrefetchResult or the final PrefetchDone.
type line struct {
	admin.PrefetchResult
	admin.PrefetchDone
}

// postPrefetch starts a prefetch of urls and returns the open response; ctx may cut it.
func postPrefetch(t *testing.T, ctx context.Context, base string, urls []string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(admin.PrefetchRequest{URLs: urls})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/prefetch", strings.NewReader(string(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("prefetch: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp
}

func urlList(n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://img.example.com/%d.jpg", i)
		if i%7 == 3 {
			urls[i] = fmt.Sprintf("https://img.example.com/missing/%d.jpg", i)
		}
	}
	return urls
}

func TestPrefetchStreamIsComplete(t *testing.T) {
	_, base := start(t, admin.Config{PrefetchConcurrency: 4}, &admintest.Edge{})
	urls := urlList(200)
	resp := postPrefetch(t, context.Background(), base, urls)
	var got []string
	var done *admin.PrefetchDone
	failed := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if done != nil {
			t.Fatalf("line after the done line: %s", sc.Text())
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if l.Done {
			done = &l.PrefetchDone
			continue
		}
		got = append(got, l.URL)
		if l.PrefetchResult.Failed() {
			failed++
			if !strings.Contains(l.URL, "/missing/") || l.Status != 404 || l.Error == "" {
				t.Errorf("unexpected failure %+v", l.PrefetchResult)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := append([]string(nil), urls...)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("results for %d URLs, want each of %d once", len(got), len(want))
	}
	if done == nil || *done != (admin.PrefetchDone{Done: true, Total: 200, Failed: 29}) || failed != 29 {
		t.Errorf("done line %+v, %d failures seen", done, failed)
	}
}

// TestPrefetchConcurrency: exactly PrefetchConcurrency URLs are fetched at once. The first
// calls wait until that many are in flight, so a lower limit deadlocks (and fails on the
// request's deadline) and a higher one shows in the maximum.
func TestPrefetchConcurrency(t *testing.T) {
	const limit = 3
	var inflight, most atomic.Int64
	gate := make(chan struct{})
	var open sync.Once
	e := &admintest.Edge{PrefetchFunc: func(ctx context.Context, u string) admin.PrefetchResult {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == limit {
			open.Do(func() { close(gate) })
		}
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return admin.PrefetchResult{Status: 200}
	}}
	_, base := start(t, admin.Config{PrefetchConcurrency: limit}, e)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := postPrefetch(t, ctx, base, urlList(20))
	lines := readLines(t, resp)
	if most.Load() != limit || len(lines) != 21 || !strings.Contains(lines[20], `"done":true`) {
		t.Errorf("max in flight %d, %d lines, last %q", most.Load(), len(lines), lines[len(lines)-1])
	}
}

// TestPrefetchFlushesEachLine: the second URL is held until the client has read the first
// result, which it can only do if that line was flushed on its own.
func TestPrefetchFlushesEachLine(t *testing.T) {
	firstRead := make(chan struct{})
	e := &admintest.Edge{PrefetchFunc: func(ctx context.Context, u string) admin.PrefetchResult {
		if strings.HasSuffix(u, "/1.jpg") {
			select {
			case <-firstRead:
			case <-ctx.Done():
			}
		}
		return admin.PrefetchResult{Status: 200}
	}}
	_, base := start(t, admin.Config{PrefetchConcurrency: 1}, e)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := postPrefetch(t, ctx, base, []string{"https://a.example/0.jpg", "https://a.example/1.jpg"})
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	if err != nil || !strings.Contains(first, "/0.jpg") {
		t.Fatalf("first line %q: %v", first, err)
	}
	close(firstRead)
	rest := readLines(t, &http.Response{Body: readCloser{r, resp.Body}})
	if len(rest) != 2 || !strings.Contains(rest[0], "/1.jpg") || rest[1] != `{"done":true,"total":2,"failed":0}` {
		t.Errorf("rest %q", rest)
	}
}

// TestPrefetchCancelledWhenClientGoes: when the client hangs up, the fetches in flight see
// their context end and no further URL is started.
func TestPrefetchCancelledWhenClientGoes(t *testing.T) {
	started := make(chan string, 10)
	sawCancel := make(chan string, 10)
	e := &admintest.Edge{PrefetchFunc: func(ctx context.Context, u string) admin.PrefetchResult {
		if strings.HasSuffix(u, "/0.jpg") {
			return admin.PrefetchResult{Status: 200}
		}
		started <- u
		<-ctx.Done()
		sawCancel <- u
		return admin.PrefetchResult{Error: ctx.Err().Error()}
	}}
	s, base := start(t, admin.Config{PrefetchConcurrency: 2}, e)
	ctx, cancel := context.WithCancel(context.Background())
	resp := postPrefetch(t, ctx, base, urlList(10))
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(first, "/0.jpg") {
		t.Fatalf("first line %q: %v", first, err)
	}
	<-started
	<-started // both workers are now blocked in Prefetch
	cancel()
	for range 2 {
		select {
		case <-sawCancel:
		case <-time.After(10 * time.Second): // a failure guard, not synchronisation
			t.Fatal("a running prefetch did not see its context cancelled")
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil { // waits for the handler to return
		t.Fatal(err)
	}
	if got := e.Prefetched(); len(got) != 3 {
		t.Errorf("prefetch went on after the client left: %d URLs started: %v", len(got), got)
	}
}

func TestPrefetchValidation(t *testing.T) {
	_, base := start(t, admin.Config{MaxPrefetchURLs: 5, MaxBodyBytes: 1024}, &admintest.Edge{})
	for _, tc := range []struct{ body, err string }{
		{`{"urls":[]}`, "no urls"},
		{`{}`, "no urls"},
		{`{"url":["a"]}`, `unknown field "url"`},
		{`{"urls":["a","b","c","d","e","f"]}`, "6 urls, at most 5"},
		{`{"urls":["a",""]}`, "urls[1] is empty"},
		{`{"urls":["` + strings.Repeat("a", 2000) + `"]}`, "larger than 1024 bytes"},
		{`not json`, "bad JSON body"},
	} {
		code, _, body := call(t, "POST", base+"/prefetch", "", tc.body)
		if msg := jsonError(t, body); code != 400 || !strings.Contains(msg, tc.err) {
			t.Errorf("%.40s: %d %q, want %q", tc.body, code, msg, tc.err)
		}
	}
}

// TestPrefetchFillsMissingFields: a result without URL or reason gets them from the admin API.
func TestPrefetchFillsMissingFields(t *testing.T) {
	e := &admintest.Edge{PrefetchFunc: func(ctx context.Context, u string) admin.PrefetchResult {
		if strings.Contains(u, "gone") {
			return admin.PrefetchResult{Status: 410}
		}
		return admin.PrefetchResult{Status: 304}
	}}
	_, base := start(t, admin.Config{PrefetchConcurrency: 1}, e)
	lines := readLines(t, postPrefetch(t, context.Background(), base, []string{"https://a.example/gone", "https://a.example/same"}))
	want := []string{
		`{"url":"https://a.example/gone","status":410,"cache_status":"","bytes":0,"duration_ms":0,"error":"status 410 Gone"}`,
		`{"url":"https://a.example/same","status":304,"cache_status":"","bytes":0,"duration_ms":0}`,
		`{"done":true,"total":2,"failed":1}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func readLines(t *testing.T, resp *http.Response) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

type readCloser struct {
	*bufio.Reader
	c interface{ Close() error }
}

func (r readCloser) Close() error { return r.c.Close() }

func BenchmarkPrefetchStream(b *testing.B) {
	b.ReportAllocs()
	e := &admintest.Edge{}
	s, err := admin.New(admin.Config{Listen: "127.0.0.1:0"}, e)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body, _ := json.Marshal(admin.PrefetchRequest{URLs: urlList(1000)})
	for b.Loop() {
		resp, err := http.Post("http://"+s.Addr()+"/prefetch", "application/json", strings.NewReader(string(body)))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for sc := bufio.NewScanner(resp.Body); sc.Scan(); n++ {
		}
		resp.Body.Close()
		if n != 1001 {
			b.Fatalf("%d lines", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/url")
}
