package router

import "github.com/prometheus/client_golang/prometheus"

// The two ways a client is answered.
const (
	modeDNS = iota
	modeHTTP
	numModes
)

var modeNames = [numModes]string{"dns", "http"}

// routerMetrics are the router's Prometheus series.
type routerMetrics struct {
	answersVec  *prometheus.CounterVec
	none        [numModes]prometheus.Counter
	dnsRefused  prometheus.Counter
	dnsNXDomain prometheus.Counter
	nodeUp      *prometheus.GaugeVec
	nodeLoaded  *prometheus.GaugeVec
}

func newRouterMetrics(reg *prometheus.Registry) *routerMetrics {
	m := &routerMetrics{
		answersVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pixcdn_router_answers_total",
			Help: "Answers given, by mode (dns, http), POP and how the POP was chosen (coverage, geo, fallback, overflow; none: no healthy node anywhere)."},
			[]string{"mode", "pop", "reason"}),
		dnsRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "pixcdn_router_dns_refused_total",
			Help: "DNS queries for names outside the zone (REFUSED)."}),
		dnsNXDomain: prometheus.NewCounter(prometheus.CounterOpts{Name: "pixcdn_router_dns_nxdomain_total",
			Help: "DNS queries for names under the zone that are no domain or node (NXDOMAIN)."}),
		nodeUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pixcdn_router_node_up",
			Help: "1 while the node passes its health probes (with hysteresis), else 0."}, []string{"pop", "node"}),
		nodeLoaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pixcdn_router_node_overloaded",
			Help: "1 while the node is past one of its load thresholds (out of the answers), else 0."}, []string{"pop", "node"}),
	}
	reg.MustRegister(m.answersVec, m.dnsRefused, m.dnsNXDomain, m.nodeUp, m.nodeLoaded)
	for i := range numModes {
		m.none[i] = m.answersVec.WithLabelValues(modeNames[i], "", "none")
	}
	return m
}

// prepare resolves the counters of t's POPs and sets the node gauges.
func (m *routerMetrics) prepare(t *table) {
	for mode := range numModes {
		t.counters[mode] = make([][numReasons]prometheus.Counter, len(t.pops))
		for i, p := range t.pops {
			for r := range numReasons {
				t.counters[mode][i][r] = m.answersVec.WithLabelValues(modeNames[mode], p.name, Reason(r).String())
			}
		}
	}
	m.nodeUp.Reset()
	m.nodeLoaded.Reset()
	for _, p := range t.pops {
		for _, n := range p.all {
			m.nodeUp.WithLabelValues(p.name, n.Name).Set(b2f(n.up))
			m.nodeLoaded.WithLabelValues(p.name, n.Name).Set(b2f(n.loaded))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
