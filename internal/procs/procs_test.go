package procs

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestDeciderNext(t *testing.T) {
	type step struct {
		s    Sample
		want int
	}
	busy := Sample{Wait: 1.0, Idle: 0.2}  // threads queued for CPU, machine saturated
	calm := Sample{Wait: 0.05, Idle: 0.1} // our Ps fit, no CPU to spare
	spare := Sample{Wait: 0.02, Idle: 1.5}
	tests := []struct {
		name  string
		max   int
		start int
		steps []step
	}{
		{"lowers one P per interval while threads wait", 4, 4, []step{{busy, 3}, {busy, 2}, {Sample{Wait: 0.6, Idle: 0}, 1}, {busy, 1}}},
		{"never below one", 2, 1, []step{{busy, 1}, {Sample{Wait: 5, Idle: 0}, 1}}},
		{"a small wait per P keeps the count", 8, 8, []step{{Sample{Wait: 1.9, Idle: 0}, 8}, {Sample{Wait: 2.0, Idle: 0}, 7}}},
		{"raises after three intervals with a CPU to spare", 2, 1, []step{{spare, 1}, {spare, 1}, {spare, 2}, {spare, 2}}},
		{"a busy interval restarts the count", 2, 1, []step{{spare, 1}, {spare, 1}, {calm, 1}, {spare, 1}, {spare, 1}, {spare, 2}}},
		{"waiting with idle CPUs is not contention for CPU", 2, 2, []step{{Sample{Wait: 1, Idle: 1.2}, 2}}},
		{"never above the maximum", 2, 2, []step{{spare, 2}, {spare, 2}, {spare, 2}, {spare, 2}}},
		{"saturated but fitting stays", 2, 1, []step{{calm, 1}, {calm, 1}, {calm, 1}, {calm, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decider{Max: tt.max}
			p := tt.start
			for i, st := range tt.steps {
				p = d.Next(p, st.s)
				if p != st.want {
					t.Fatalf("step %d (%+v): P = %d, want %d", i, st.s, p, st.want)
				}
			}
		})
	}
}

// The controller applies each decision through Set and stops with its context.
func TestStartAppliesDecisions(t *testing.T) {
	var mu sync.Mutex
	var set []int
	samples := make(chan Sample, 8)
	for _, s := range []Sample{{Wait: 2, Idle: 0}, {Wait: 2, Idle: 0}, {Wait: 0, Idle: 2}, {Wait: 0, Idle: 2}, {Wait: 0, Idle: 2}} {
		samples <- s
	}
	first := true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ok := Start(ctx, Config{
		Interval: time.Millisecond, Max: 3,
		Sampler: func() (Sample, bool) {
			if first {
				first = false
				return Sample{}, false
			}
			select {
			case s := <-samples:
				return s, true
			default:
				return Sample{}, false
			}
		},
		Set: func(n int) { mu.Lock(); set = append(set, n); mu.Unlock() },
	})
	if !ok {
		t.Fatal("Start refused a given sampler")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([]int(nil), set...)
		mu.Unlock()
		if len(got) == 3 {
			if got[0] != 2 || got[1] != 1 || got[2] != 2 {
				t.Fatalf("GOMAXPROCS set to %v, want [2 1 2]", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s GOMAXPROCS set to %v, want [2 1 2]", got)
		}
		time.Sleep(time.Millisecond)
	}
}

// On Linux the sampler reads real accounting: threads that wait for a CPU show as Wait.
func TestProcSamplerSeesRunQueueWait(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	sm, err := newProcSampler()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sm.sample(); ok {
		t.Fatal("the first sample has no interval and must not count")
	}
	// Twice as many spinning threads as CPUs: about half of them wait at any time.
	n := 2 * runtime.NumCPU()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	old := runtime.GOMAXPROCS(n)
	time.Sleep(300 * time.Millisecond)
	s, ok := sm.sample()
	close(stop)
	wg.Wait()
	runtime.GOMAXPROCS(old)
	if !ok {
		t.Fatal("no sample over the interval")
	}
	if s.Wait < 0.2 {
		t.Errorf("%d spinning threads on %d CPUs: run-queue wait %.2f CPUs, want some", n, runtime.NumCPU(), s.Wait)
	}
	if s.Idle < 0 || s.Idle > float64(runtime.NumCPU())+0.5 {
		t.Errorf("idle %.2f CPUs out of range", s.Idle)
	}
}
