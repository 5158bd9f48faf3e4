package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// distinct returns n distinct IP-like keys.
func distinct(n int) []*keys {
	ks := make([]*keys, n)
	for i := range ks {
		ks[i] = ip("10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255))
	}
	return ks
}

func TestMaxKeysBound(t *testing.T) {
	const maxKeys, n = 1000, 20000
	l := newLimiter(t, maxKeys, perSecond(1, 1))
	for i, k := range distinct(n) {
		if ok, _, _ := l.Allow("/", k, t0.Add(time.Duration(i))); !ok {
			t.Fatalf("new key %d refused", i)
		}
		if i%1000 == 0 && l.Stats().Keys > maxKeys {
			t.Fatalf("after %d keys: %d tracked, MaxKeys %d", i+1, l.Stats().Keys, maxKeys)
		}
	}
	st := l.Stats()
	if st.Capacity > maxKeys || st.Keys > st.Capacity {
		t.Fatalf("stats %+v exceed MaxKeys %d", st, maxKeys)
	}
	if st.Keys < st.Capacity*9/10 {
		t.Errorf("only %d of %d slots used after %d keys", st.Keys, st.Capacity, n)
	}
	if st.Evictions != uint64(n-st.Keys) || st.Allowed != n {
		t.Errorf("stats %+v: want evictions %d and allowed %d", st, n-st.Keys, n)
	}
}

// Two-choice hashing keeps the sets balanced: MaxKeys distinct keys mostly fit.
func TestOccupancyAtCapacity(t *testing.T) {
	l := newLimiter(t, 100_000, perSecond(1, 1))
	n := l.Stats().Capacity
	for i, k := range distinct(n) {
		l.Allow("/", k, t0.Add(time.Duration(i)))
	}
	st := l.Stats()
	t.Logf("%d distinct keys into %d slots: %d tracked, %d evicted", n, st.Capacity, st.Keys, st.Evictions)
	if st.Evictions > uint64(n)/10 {
		t.Errorf("%d of %d keys evicted before the table was full", st.Evictions, n)
	}
}

// An abuser that keeps sending stays tracked (and refused) through a flood of new keys far
// larger than the table: eviction takes the least recently seen.
func TestActiveKeySurvivesFlood(t *testing.T) {
	r := perSecond(1, 1)
	r.Block = time.Hour
	l := newLimiter(t, 512, r)
	abuser := ip("abuser")
	now := t0
	l.Allow("/", abuser, now)
	for i, k := range distinct(50_000) {
		now = now.Add(time.Millisecond)
		l.Allow("/", k, now)
		if ok, _, _ := l.Allow("/", abuser, now); ok {
			t.Fatalf("abuser allowed after %d flood keys: its state was evicted", i+1)
		}
	}
	if ev := l.Stats().Evictions; ev < 40_000 {
		t.Fatalf("only %d evictions: the flood did not churn the table", ev)
	}
}

// A blocked key that goes quiet is kept in preference to idle keys until its block ends.
func TestQuietBlockedKeyKeptOverIdleKeys(t *testing.T) {
	r := perSecond(1, 1)
	r.Block = time.Hour
	l := newLimiter(t, 64, r)
	abuser := ip("abuser")
	l.Allow("/", abuser, t0)
	l.Allow("/", abuser, t0) // blocked until t0+1h
	now := t0
	for _, k := range distinct(10_000) {
		now = now.Add(time.Millisecond) // 10 s of flood, well inside the block
		l.Allow("/", k, now)
	}
	if ok, ra, _ := l.Allow("/", abuser, now); ok || ra != time.Hour-10*time.Second {
		t.Fatalf("quiet blocked abuser: ok %v retryAfter %v; want still blocked", ok, ra)
	}
}

func TestConcurrentBudgetExact(t *testing.T) {
	// 1000 requests per 1000 hours and a burst of 1000: no token refills during the test.
	l := newLimiter(t, 0, Rule{Name: "r", Key: "ip", Requests: 1000, Interval: 1000 * time.Hour})
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			k, other := ip("shared"), ip("g"+strconv.Itoa(g))
			for range 500 {
				if ok, _, _ := l.Allow("/", k, t0); ok {
					allowed.Add(1)
				} else {
					refused.Add(1)
				}
				l.Allow("/", other, t0) // other keys in other shards meanwhile
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 1000 || refused.Load() != 3000 {
		t.Fatalf("allowed %d refused %d; want exactly 1000 and 3000", allowed.Load(), refused.Load())
	}
	if st := l.Stats(); st.Allowed != 1000+8*500 || st.Refusals != 3000 || st.Keys != 9 {
		t.Fatalf("stats %+v", st)
	}
}

// One key at 10x its limit does not change another key's decisions, including one that shares
// its shard and set (MaxKeys 8: a single 8-way set).
func TestFairness(t *testing.T) {
	for _, maxKeys := range []int{0, 8} {
		r := perSecond(10, 10)
		r.Block = 5 * time.Second
		l := newLimiter(t, maxKeys, r)
		abuser, good := ip("abuser"), ip("good")
		var abuserOK, goodOK int
		for ms := 0; ms < 60_000; ms += 10 { // a minute: abuser every 10 ms, good every 100 ms
			now := t0.Add(time.Duration(ms) * time.Millisecond)
			if ok, _, _ := l.Allow("/", abuser, now); ok {
				abuserOK++
			}
			if ms%100 != 0 {
				continue
			}
			if ok, ra, _ := l.Allow("/", good, now); ok {
				goodOK++
			} else {
				t.Fatalf("MaxKeys %d: good key at its rate refused at %dms (retry %v)", maxKeys, ms, ra)
			}
		}
		// The abuser gets a burst of 10 plus the token refilled meanwhile, then a 5.11 s block:
		// 11 per cycle, 12 cycles started in the minute; without the block it would get 600.
		if goodOK != 600 || abuserOK != 11*12 {
			t.Fatalf("MaxKeys %d: good allowed %d/600, abuser allowed %d", maxKeys, goodOK, abuserOK)
		}
	}
}

func TestAllowDoesNotAllocate(t *testing.T) {
	l := newLimiter(t, 1<<14, perSecond(1000, 1000),
		Rule{Name: "h", PathPrefix: "/h", Key: "header:X-Key", Requests: 1, Interval: time.Second})
	req := httptest.NewRequest(http.MethodGet, "/h/x?a=1", nil)
	req.Header.Set("X-Key", "k")
	ks := Request{R: req}
	known := ip("known")
	fresh := distinct(1000)
	i := 0
	tests := []struct {
		name string
		f    func()
	}{
		{"known key", func() { l.Allow("/", known, t0) }},
		{"new keys", func() { l.Allow("/", fresh[i%len(fresh)], t0); i++ }},
		{"http.Request header", func() { l.Allow("/h/x", ks, t0) }},
		{"http.Request ip", func() { l.Allow("/x", ks, t0) }},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(1000, tt.f); a != 0 {
			t.Errorf("%s: %v allocations per Allow", tt.name, a)
		}
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// The heap does not grow with the number of distinct keys seen: the table is allocated by New.
func TestFloodDoesNotGrowHeap(t *testing.T) {
	const maxKeys, n = 20_000, 200_000
	ks := distinct(n)
	before := heapInUse()
	l := newLimiter(t, maxKeys, perSecond(1, 1))
	afterNew := heapInUse()
	for i, k := range ks {
		l.Allow("/", k, t0.Add(time.Duration(i)))
	}
	afterFlood := heapInUse()
	runtime.KeepAlive(l)
	runtime.KeepAlive(ks)
	table := afterNew - min(afterNew, before)
	growth := int64(afterFlood) - int64(afterNew)
	t.Logf("table %d bytes (%.1f per key), growth after %d keys: %d bytes", table, float64(table)/maxKeys, n, growth)
	if table > maxKeys*bytesPerKey*5/4 {
		t.Errorf("table takes %d bytes for %d keys, want about %d", table, maxKeys, maxKeys*bytesPerKey)
	}
	if growth > 256<<10 {
		t.Errorf("heap grew %d bytes during a flood of %d keys", growth, n)
	}
}

// Many goroutines flooding new keys: every decision is counted once and the bound holds.
func TestConcurrentFloodCountsAndBound(t *testing.T) {
	l := newLimiter(t, 2048, perSecond(1, 1))
	ks := distinct(20_000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(ks); i += 8 {
				l.Allow("/", ks[i], t0)
				l.Allow("/", ks[i], t0) // refused unless evicted in between
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Allowed+st.Refusals != 2*uint64(len(ks)) || st.Keys > st.Capacity || st.Capacity > 2048 {
		t.Fatalf("stats %+v after %d requests", st, 2*len(ks))
	}
	if st.Allowed < uint64(len(ks)) || st.Evictions != st.Allowed-uint64(st.Keys) {
		t.Fatalf("stats %+v: want every first request allowed, evictions = inserts - keys", st)
	}
}
