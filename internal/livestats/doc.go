// Package livestats owns the per-second live view of the edges: what each node served in the
// last second, by domain, and a short window of those seconds on the control side.
//
// It exists beside internal/metrics because the two answer different questions. Prometheus
// counters are scraped every 15 s or more and kept for weeks; a dashboard and a router's load
// view want the last second of every node now, and a domain's latency across nodes, which
// cannot be averaged from per-node percentiles. So an edge's [Recorder] counts each request in
// a few atomic words (no locks, no allocation), a sampler turns them into one [Sample] a second
// for the caller to publish (over NATS), and the control side's [Window] merges the samples it
// receives (summing counters and latency histograms across nodes) and serves them as JSON and
// Server-Sent Events ([Window.Handler]).
//
// The package does no I/O of its own besides reading the process's CPU and memory use: the
// caller moves samples between the two sides.
package livestats
