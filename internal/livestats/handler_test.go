package livestats

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// streamServer serves w's handler and reports on done when a handler returns.
func streamServer(t *testing.T, w *Window, base context.Context) (*httptest.Server, <-chan struct{}) {
	done := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.Handler().ServeHTTP(rw, r)
		done <- struct{}{}
	}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, done
}

// readEvents reads the stream until it has n stats events, returning their data.
func readEvents(t *testing.T, resp *http.Response, n int) []Summary {
	t.Helper()
	var out []Summary
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "stats":
			var s Summary
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &s); err != nil {
				t.Fatalf("data %q: %v", line, err)
			}
			out = append(out, s)
		case line == "":
			event = ""
		}
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d events: %v", len(out), sc.Err())
	}
	return out
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("the handler did not return after %s", what)
	}
}

func openStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	rq, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	rq.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStreamStopsWhenClientLeaves(t *testing.T) {
	w, _ := newTestWindow(60)
	w.every = 5 * time.Millisecond
	w.Add(nodeSample("n1", t0.Unix(), "img", 1, time.Millisecond))
	srv, done := streamServer(t, w, context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp := openStream(t, ctx, srv.URL)
	defer resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-store" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("%d %v", resp.StatusCode, h)
	}
	evs := readEvents(t, resp, 2)
	if evs[1].Nodes["n1"].Requests != 1 || evs[1].Domains["img"].Hits != 1 {
		t.Errorf("event %+v", evs[1])
	}
	cancel()
	waitDone(t, done, "the client left")
	if len(w.streams) != 0 {
		t.Errorf("%d stream slots still held", len(w.streams))
	}
}

func TestStreamStopsWithServerContext(t *testing.T) {
	w, _ := newTestWindow(60)
	w.every = 5 * time.Millisecond
	base, stop := context.WithCancel(context.Background())
	srv, done := streamServer(t, w, base)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp := openStream(t, ctx, srv.URL+"/?stream=1")
	defer resp.Body.Close()
	readEvents(t, resp, 1)
	stop()
	waitDone(t, done, "the server's context ended")
}

func TestStreamHeartbeat(t *testing.T) {
	w, _ := newTestWindow(60)
	w.every, w.heartbeat = time.Hour, 5*time.Millisecond
	srv, _ := streamServer(t, w, context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp := openStream(t, ctx, srv.URL)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == ": heartbeat" {
			return
		}
	}
	t.Fatalf("no heartbeat: %v", sc.Err())
}

func TestStreamLimit(t *testing.T) {
	w, _ := newTestWindow(60)
	w.streams = make(chan struct{}, 1)
	srv, _ := streamServer(t, w, context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := openStream(t, ctx, srv.URL)
	defer first.Body.Close()
	bufio.NewReader(first.Body).ReadString('\n') // the opening comment: the stream holds its slot
	second := openStream(t, ctx, srv.URL)
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable || second.Header.Get("Retry-After") == "" {
		t.Errorf("second stream: %d %v", second.StatusCode, second.Header)
	}
}

func TestHandlerJSON(t *testing.T) {
	w, _ := newTestWindow(60)
	w.Add(nodeSample("n1", t0.Unix(), "img", 1, time.Millisecond, time.Millisecond))
	for _, tc := range []struct {
		target, accept, method string
		status                 int
	}{
		{"/", "", "GET", 200},
		{"/?format=json", "text/event-stream", "GET", 200}, // the query wins
		{"/", "application/json", "GET", 200},
		{"/?format=xml", "", "GET", 400},
		{"/", "", "POST", 405},
	} {
		rq := httptest.NewRequest(tc.method, tc.target, nil)
		rq.Header.Set("Accept", tc.accept)
		rec := httptest.NewRecorder()
		w.Handler().ServeHTTP(rec, rq)
		if rec.Code != tc.status {
			t.Errorf("%s %s %q: %d, want %d", tc.method, tc.target, tc.accept, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: header %v", tc.target, rec.Header())
		}
		var sn Snapshot
		if err := json.Unmarshal(rec.Body.Bytes(), &sn); err != nil {
			t.Fatal(err)
		}
		if sn.Seconds != 60 || sn.Time != t0.Unix() || len(sn.Nodes["n1"].Points) != 1 || sn.Domains["img"][0].Requests != 2 || sn.Totals[0].Hits != 1 {
			t.Errorf("%s: %s", tc.target, rec.Body)
		}
	}
}
