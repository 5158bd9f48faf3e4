package agent

import (
	"sync"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/control"
)

// prefetchConcurrency is how many URLs one node fetches at once for one order.
const prefetchConcurrency = 8

// prefetch fetches the URLs of o this node owns in its POP, so each object is filled once per
// POP: the other nodes ask the owner when a client wants it.
func (a *Agent) prefetch(o control.PrefetchOrder) control.PrefetchReport {
	r := control.PrefetchReport{ID: o.ID, Node: a.node, POP: a.pop, Results: []admin.PrefetchResult{}}
	var mine []string
	for _, u := range o.URLs {
		if a.cfg.Owns == nil || a.cfg.Owns(u) {
			mine = append(mine, u)
		}
	}
	r.Assigned = len(mine)
	a.mu.Lock()
	e := a.edge
	a.mu.Unlock()
	results := make([]admin.PrefetchResult, len(mine))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(prefetchConcurrency, len(mine)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = e.Prefetch(a.ctx, mine[i])
			}
		}()
	}
	for i := range mine {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, res := range results {
		if res.Failed() {
			r.Failed++
		}
	}
	r.Results = results
	if r.Results == nil {
		r.Results = []admin.PrefetchResult{}
	}
	return r
}
