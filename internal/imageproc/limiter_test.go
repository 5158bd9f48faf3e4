package imageproc

import (
	"context"
	"errors"
	"testing"
)

// waitFor spins on Stats until cond holds; it yields rather than sleeps, and
// the test's own deadline bounds it.
func waitFor(t *testing.T, l *Limiter, cond func(running, waiting int) bool) {
	t.Helper()
	for {
		if r, w := l.Stats(); cond(r, w) {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal("condition never held")
		default:
		}
	}
}

func TestLimiterQueueFull(t *testing.T) {
	l := NewLimiter(2, 1)
	ctx := context.Background()
	r1, err1 := l.Acquire(ctx)
	r2, err2 := l.Acquire(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	got := make(chan error, 1)
	var r3 func()
	go func() {
		var err error
		r3, err = l.Acquire(ctx)
		got <- err
	}()
	waitFor(t, l, func(r, w int) bool { return r == 2 && w == 1 })
	if _, err := l.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth Acquire: %v, want ErrBusy", err)
	}
	r1()
	r1() // a second call is harmless
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire: %v", err)
	}
	if r, w := l.Stats(); r != 2 || w != 0 {
		t.Fatalf("Stats = %d, %d; want 2, 0", r, w)
	}
	r2()
	r3()
	if r, w := l.Stats(); r != 0 || w != 0 {
		t.Fatalf("Stats = %d, %d; want 0, 0", r, w)
	}
}

func TestLimiterContextEnds(t *testing.T) {
	l := NewLimiter(1, 4)
	release, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx)
		got <- err
	}()
	waitFor(t, l, func(_, w int) bool { return w == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, w := l.Stats(); w != 0 {
		t.Fatalf("waiting = %d after cancel", w)
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(0, 0)
	if cap(l.slots) < 1 || l.queue != 4*cap(l.slots) {
		t.Fatalf("workers %d queue %d", cap(l.slots), l.queue)
	}
	l0 := NewLimiter(1, -1)
	rel, _ := l0.Acquire(context.Background())
	defer rel()
	if _, err := l0.Acquire(context.Background()); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy with no queue", err)
	}
}

// TestConcurrentJobs runs jobs from several goroutines behind a Limiter, as
// the edge does; with -race it checks the binding shares no Go state.
func TestConcurrentJobs(t *testing.T) {
	l := NewLimiter(2, 16)
	src := photoJPEG(t, 640, 480)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			release, err := l.Acquire(context.Background())
			if err != nil {
				errs <- err
				return
			}
			res, err := Process(context.Background(), src, Spec{Width: 100 + i, Format: []string{"jpeg", "webp"}[i%2]}, Limits{}, nil)
			release() // before reporting: the test reads Stats once every job reported
			if err == nil && res.Width != 100+i {
				err = errors.New("wrong width")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if r, w := l.Stats(); r != 0 || w != 0 {
		t.Fatalf("Stats = %d, %d after all jobs", r, w)
	}
}
