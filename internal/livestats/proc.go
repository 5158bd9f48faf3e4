package livestats

import (
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// heapMetric is the bytes of live and not yet swept heap objects: runtime.MemStats.HeapAlloc,
// read without ReadMemStats' stop of the world.
const heapMetric = "/memory/classes/heap/objects:bytes"

// procReader reads the process's CPU time and memory for Sample. Its state is guarded by
// Recorder.mu.
type procReader struct {
	prevCPU time.Duration
	heap    []metrics.Sample
}

func (p *procReader) init() {
	p.heap = []metrics.Sample{{Name: heapMetric}}
	p.prevCPU = cpuTime()
}

// totals reports the CPU used over the last interval seconds, in percent of one core, and
// the memory now.
func (p *procReader) totals(interval float64) Totals {
	var t Totals
	cpu := cpuTime()
	if interval > 0 && cpu >= p.prevCPU {
		t.CPUPercent = math.Round((cpu-p.prevCPU).Seconds()/interval*1000) / 10
	}
	p.prevCPU = cpu
	t.RSSBytes = rss()
	metrics.Read(p.heap)
	if p.heap[0].Value.Kind() == metrics.KindUint64 {
		t.HeapBytes = p.heap[0].Value.Uint64()
	}
	return t
}

// rss is the resident set from /proc/self/statm (its second field, in pages); 0 where there is
// no such file.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
