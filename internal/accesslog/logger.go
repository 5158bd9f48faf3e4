package accesslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("accesslog: logger closed")

// Logger writes access log lines. Log may be called from any number of goroutines; Reopen and
// Close may be called concurrently with Log and with each other.
type Logger struct {
	cfg   Config
	json  bool
	queue chan *line
	pool  sync.Pool

	dropped, writeErrors atomic.Int64
	closed               atomic.Bool

	kick      chan struct{} // capacity 1: Log's nudge when the queue is half full
	reopen    chan chan error
	closing   chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error // set by the writer before stopped is closed

	w writerState // owned by the writer goroutine
}

// line is one formatted log line; pooled behind a pointer so Get and Put do not allocate.
type line struct{ b []byte }

// maxPooledLine keeps a rare huge line (a very long URI) from pinning its buffer in the pool.
const maxPooledLine = 16 << 10

// clock is what the writer needs of time, injected so tests decide when flushes happen.
type clock struct {
	now  func() time.Time
	tick <-chan time.Time // the writer's poll; nil: a real ticker at pollInterval
}

// pollInterval is how often the writer drains the queue: 8192 lines per 10 ms is far above
// what one edge serves, and an idle logger costs 100 wakeups a second.
const pollInterval = 10 * time.Millisecond

// Open starts a logger writing to cfg.Path (appending, created 0644) or stdout.
func Open(cfg Config) (*Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	open := func() (io.WriteCloser, error) { return stdout{}, nil }
	if !cfg.stdout() {
		open = func() (io.WriteCloser, error) {
			f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return nil, fmt.Errorf("accesslog: %w", err)
			}
			return f, nil
		}
	}
	return newLogger(cfg, open, clock{now: time.Now})
}

// stdout is never closed by the logger: the process owns it.
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdout) Close() error                { return nil }

// newLogger starts the writer on what open returns; tests pass their own writers and clock.
func newLogger(cfg Config, open func() (io.WriteCloser, error), clk clock) (*Logger, error) {
	out, err := open()
	if err != nil {
		return nil, err
	}
	l := &Logger{
		cfg:     cfg,
		json:    cfg.Format == FormatJSON,
		queue:   make(chan *line, cfg.BufferLines),
		kick:    make(chan struct{}, 1),
		reopen:  make(chan chan error),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
	}
	l.pool.New = func() any { return &line{b: make([]byte, 0, 512)} }
	l.w = writerState{open: open, out: out, bw: bufio.NewWriterSize(out, writeBufferSize), clk: clk, last: clk.now()}
	tick, stop := clk.tick, func() {}
	if tick == nil {
		t := time.NewTicker(min(pollInterval, cfg.FlushInterval))
		tick, stop = t.C, t.Stop
	}
	go func() {
		defer stop()
		l.run(tick)
	}()
	return l, nil
}

// Log formats ri and queues the line for the writer. It never blocks on I/O: when the queue is
// full, or the logger is closed, the line is dropped and counted. It does not keep ri.
// A Log racing with Close may lose its line without counting it.
func (l *Logger) Log(ri *metrics.RequestInfo) {
	// The length check is racy but saves formatting a line that would be dropped.
	if l.closed.Load() || len(l.queue) == cap(l.queue) {
		l.dropped.Add(1)
		return
	}
	ln := l.pool.Get().(*line)
	if l.json {
		ln.b = appendJSON(ln.b[:0], ri)
	} else {
		ln.b = appendCombined(ln.b[:0], ri)
	}
	select {
	case l.queue <- ln:
		if len(l.queue) >= cap(l.queue)/2 {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
	default:
		l.dropped.Add(1)
		l.put(ln)
	}
}

func (l *Logger) put(ln *line) {
	if cap(ln.b) <= maxPooledLine {
		l.pool.Put(ln)
	}
}

// Reopen flushes and closes the current file and opens cfg.Path again, so that after
// logrotate renames the file, lines go to a new one (wire it to SIGUSR1). If the new file
// cannot be opened, logging continues to the old one and the error says why. For stdout it
// only flushes.
func (l *Logger) Reopen() error {
	reply := make(chan error, 1)
	select {
	case l.reopen <- reply:
		return <-reply
	case <-l.stopped:
		return ErrClosed
	}
}

// Close stops accepting lines, writes every queued line, flushes and closes the file. Later
// calls return the first call's result.
func (l *Logger) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.closing)
	})
	<-l.stopped
	return l.closeErr
}

// Dropped returns how many lines were dropped because the writer was behind or closed.
func (l *Logger) Dropped() int64 { return l.dropped.Load() }

// Stats reports drops and write errors, for metrics.Metrics.SetAccessLogStats.
func (l *Logger) Stats() metrics.AccessLogStats {
	return metrics.AccessLogStats{Dropped: l.dropped.Load(), WriteErrors: l.writeErrors.Load()}
}
