package accesslog

import (
	"io"
	"runtime"
	"testing"
	"time"
)

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

var _ io.WriteCloser = discard{}

// BenchmarkLog measures the request-path cost of Log (format into the shared buffer, hand
// full buffers over) with a real writer goroutine draining to a discarding output. Every 4096
// lines it waits, timer stopped, for the writer to take what was handed over: in production a
// request spends ~15 µs elsewhere between two Log calls, so the writer keeps up, and a
// benchmark that only logs would mostly measure the drop path. drops/op shows that it did
// keep up.
func BenchmarkLog(b *testing.B) {
	for _, format := range []string{FormatJSON, FormatCombined} {
		b.Run(format, func(b *testing.B) {
			l, err := newLogger(Config{Format: format}.withDefaults(), func() (io.WriteCloser, error) { return discard{}, nil },
				clock{now: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			ri := sampleRequest()
			b.ReportAllocs()
			for i := range b.N {
				l.Log(ri)
				if i%4096 == 4095 {
					b.StopTimer()
					waitTaken(l)
					b.StartTimer()
				}
			}
			b.StopTimer()
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(l.Dropped())/float64(b.N), "drops/op")
		})
	}
}

// waitTaken waits until the writer has taken every buffer handed to it.
func waitTaken(l *Logger) {
	for {
		l.mu.Lock()
		n := len(l.full)
		l.mu.Unlock()
		if n == 0 {
			return
		}
		runtime.Gosched()
	}
}

// BenchmarkLogDrop is the cost of Log when BufferLines lines wait: a lock, a comparison and
// a counter.
func BenchmarkLogDrop(b *testing.B) {
	g := newGateWriter()
	fc := newFakeClock()
	l, err := newLogger(Config{BufferLines: 1}.withDefaults(), func() (io.WriteCloser, error) { return g, nil }, fc.clock())
	if err != nil {
		b.Fatal(err)
	}
	ri := sampleRequest()
	fc.advance(time.Second)
	l.Log(ri)   // with BufferLines 1, Log hands the line over and kicks the writer at once
	<-g.entered // it writes and stalls
	l.Log(ri)   // one line waits: full
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(ri)
		}
	})
	b.StopTimer()
	close(g.release)
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFormat formats one line the way Log does, with the formatted second cached.
func BenchmarkFormat(b *testing.B) {
	ri := sampleRequest()
	buf := make([]byte, 0, 1024)
	var tc timeCache
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = tc.appendJSON(buf[:0], ri)
		}
	})
	b.Run("combined", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = tc.appendCombined(buf[:0], ri)
		}
	})
}
