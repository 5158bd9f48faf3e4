package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestShutdownUnderLoad stops the edge (what SIGTERM does) while clients keep asking: every
// response that started must complete with the right bytes, and every object stored before
// the stop must be a hit after a restart.
func TestShutdownUnderLoad(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // an origin that takes a moment, so fills are in flight at the stop
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat(r.URL.Path, 500))
	}))
	defer origin.Close()
	dir := t.TempDir()
	ol := oneLine{origin: origin.URL, listen: "127.0.0.1:0", cacheDir: dir}
	cfg, err := ol.config()
	if err != nil {
		t.Fatal(err)
	}
	r, stopEdge := startServe(t, cfg)
	base := "http://" + r.edge.Addr()

	var (
		completed, refused atomic.Int64
		mu                 sync.Mutex
		stored             []string
		bad                []string
		wg                 sync.WaitGroup
		stop               = make(chan struct{})
	)
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/c%d/%d", c, i)
				resp, err := http.Get(base + path)
				if err != nil {
					refused.Add(1) // no response at all: the listener is gone
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				if err != nil || resp.StatusCode != 200 || string(body) != strings.Repeat(path, 500) {
					bad = append(bad, fmt.Sprintf("%s: %d, %d bytes, %v", path, resp.StatusCode, len(body), err))
				} else if strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
					stored = append(stored, path)
				}
				mu.Unlock()
				completed.Add(1)
			}
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); completed.Load() < 200; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("load did not get going")
		}
	}
	if code := stopEdge(); code != 0 { // what SIGTERM does
		t.Fatalf("exit code %d", code)
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d broken responses, e.g. %s", len(bad), bad[0])
	}
	t.Logf("%d completed, %d refused after the stop, %d stored", completed.Load(), refused.Load(), len(stored))

	cfg, _ = ol.config()
	base = runEdge(t, cfg)
	for _, p := range stored {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
			t.Fatalf("%s stored before the stop is not a hit after restart: %s", p, resp.Header.Get("Cache-Status"))
		}
	}
}
