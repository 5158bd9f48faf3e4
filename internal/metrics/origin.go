package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Origin outcomes as labelled; anything else is folded into "other".
var outcomeLabels = [...]string{"ok", "error", "timeout", "overloaded", "5xx", "other"}

const nOutcome = len(outcomeLabels)

// outcomeIndex classifies one origin request. An "ok" whose status is 5xx counts as "5xx", so
// that a caller which only separates transport failures still gets server errors counted apart.
func outcomeIndex(outcome string, status int) int {
	switch outcome {
	case "ok":
		if status >= 500 && status <= 599 {
			return 4
		}
		return 0
	case "error":
		return 1
	case "timeout":
		return 2
	case "overloaded":
		return 3
	case "5xx":
		return 4
	}
	return nOutcome - 1
}

type originSeries struct {
	name     string
	requests [nOutcome]atomic.Pointer[counterCell]
	duration [nOutcome]atomic.Pointer[observerCell]
	bytes    atomic.Pointer[counterCell]
}

func (m *Metrics) newOriginSeries(name string) *originSeries { return &originSeries{name: name} }

// OriginRequest records one request to an origin: pixcdn_origin_requests_total and
// pixcdn_origin_duration_seconds by outcome ("ok", "error", "timeout", "overloaded", "5xx"),
// and the body bytes read in pixcdn_origin_response_bytes_total. status is the origin's HTTP
// status, 0 when none arrived. It allocates nothing once the origin and outcome have been seen.
func (m *Metrics) OriginRequest(origin, outcome string, status int, d time.Duration, bytes int64) {
	o := m.origins.get(origin)
	oi := outcomeIndex(outcome, status)
	lv := labels2(o.name, outcomeLabels[oi])
	counter(&o.requests[oi], m.originRequests, lv).Inc()
	observer(&o.duration[oi], m.originDuration, lv).Observe(d.Seconds())
	if bytes > 0 {
		counter(&o.bytes, m.originBytes, labelValues{[3]string{o.name}, 1}).Add(float64(bytes))
	}
}

// RetainOrigins forgets every origin not in names and deletes its series (see RetainDomains).
func (m *Metrics) RetainOrigins(names []string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	for _, o := range m.origins.remove(func(n string) bool { return keep[n] }) {
		l := prometheus.Labels{"origin": o}
		m.originRequests.DeletePartialMatch(l)
		m.originDuration.DeletePartialMatch(l)
		m.originBytes.DeletePartialMatch(l)
	}
}
