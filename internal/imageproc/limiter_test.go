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
	r1, err1 := l.Acquire(ctx, "", 1)
	r2, err2 := l.Acquire(ctx, "", 1)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	got := make(chan error, 1)
	var r3 func()
	go func() {
		var err error
		r3, err = l.Acquire(ctx, "", 1)
		got <- err
	}()
	waitFor(t, l, func(r, w int) bool { return r == 2 && w == 1 })
	if _, err := l.Acquire(ctx, "", 1); !errors.Is(err, ErrBusy) {
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
	release, err := l.Acquire(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "", 1)
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
	if l.workers < 1 || l.queue != 4*l.workers {
		t.Fatalf("workers %d queue %d", l.workers, l.queue)
	}
	l0 := NewLimiter(1, -1)
	rel, _ := l0.Acquire(context.Background(), "a", 1)
	defer rel()
	if _, err := l0.Acquire(context.Background(), "b", 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy with no queue", err)
	}
}

// acquireAsync starts an Acquire in the background; its answer arrives on the channel, and a
// granted worker is released at the test's end.
func acquireAsync(t *testing.T, l *Limiter, client string, cost Cost) <-chan error {
	got := make(chan error, 1)
	go func() {
		release, err := l.Acquire(t.Context(), client, cost)
		if err == nil {
			t.Cleanup(release)
		}
		got <- err
	}()
	return got
}

// TestLimiterFairShare reproduces a flood of distinct variants from one client: it fills
// the workers and the queue; another client's job still gets the next free worker, and the
// flood's newest waiter is refused to make room for it.
func TestLimiterFairShare(t *testing.T) {
	l := NewLimiter(2, 4)
	ctx := context.Background()
	var floodRelease []func()
	for range 2 {
		r, err := l.Acquire(ctx, "flood", 100)
		if err != nil {
			t.Fatal(err)
		}
		floodRelease = append(floodRelease, r)
	}
	var flood []<-chan error
	for i := range 4 {
		flood = append(flood, acquireAsync(t, l, "flood", 100))
		waitFor(t, l, func(_, w int) bool { return w == i+1 })
	}
	if _, err := l.Acquire(ctx, "flood", 100); !errors.Is(err, ErrBusy) {
		t.Fatalf("the flood's fifth waiter: %v, want ErrBusy", err)
	}
	other := acquireAsync(t, l, "other", 10)
	if err := <-flood[3]; !errors.Is(err, ErrBusy) {
		t.Fatalf("the flood's newest waiter: %v, want ErrBusy (pushed out)", err)
	}
	waitFor(t, l, func(_, w int) bool { return w == 4 })
	floodRelease[0]() // the first free worker goes to the client with nothing running
	if err := <-other; err != nil {
		t.Fatalf("other client: %v", err)
	}
	select {
	case err := <-flood[0]:
		t.Fatalf("the flood's oldest waiter ran before the other client's job: %v", err)
	default:
	}
	floodRelease[1]()
	if err := <-flood[0]; err != nil { // then the flood, in its own order
		t.Fatal(err)
	}
	if r, w := l.Stats(); r != 2 || w != 2 {
		t.Fatalf("Stats = %d, %d; want 2, 2", r, w)
	}
}

// TestLimiterWeighsCost: a client that has had much work done waits behind one that has had
// little, whatever the arrival order.
func TestLimiterWeighsCost(t *testing.T) {
	l := NewLimiter(2, 8)
	ctx := context.Background()
	heavy, _ := l.Acquire(ctx, "heavy", 1000)
	light, _ := l.Acquire(ctx, "light", 10)
	defer light()
	h := acquireAsync(t, l, "heavy", 1)
	waitFor(t, l, func(_, w int) bool { return w == 1 })
	lt := acquireAsync(t, l, "light", 1)
	waitFor(t, l, func(_, w int) bool { return w == 2 })
	heavy() // a worker frees: light's job (tag 10) goes before heavy's (tag 1000)
	if err := <-lt; err != nil {
		t.Fatal(err)
	}
	select {
	case <-h:
		t.Fatal("heavy's second job ran with no free worker")
	default:
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
			release, err := l.Acquire(context.Background(), "", 1)
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
