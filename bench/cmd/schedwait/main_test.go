package main

import (
	"bytes"
	"runtime/trace"
	"sync"
	"testing"
)

// A trace of goroutines that hand work over channels has runnable waits and running spans.
func TestAnalyzeRealTrace(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing already on:", err)
	}
	ch := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range ch {
				_ = v * v
			}
		}()
	}
	for i := range 20000 {
		ch <- i
	}
	close(ch)
	wg.Wait()
	trace.Stop()
	st, err := analyze(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.runnable) == 0 || len(st.running) == 0 || st.resumes == 0 {
		t.Fatalf("no scheduling found in a trace of 4 busy goroutines: %d waits, %d spans, %d starts", len(st.runnable), len(st.running), st.resumes)
	}
	var out bytes.Buffer
	st.print(&out)
	if !bytes.Contains(out.Bytes(), []byte("runnable wait  n=")) {
		t.Fatalf("report lacks the runnable line:\n%s", out.String())
	}
}
