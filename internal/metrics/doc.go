// Package metrics owns what Prometheus sees of a running edge: request, origin, coalescing and
// purge counters updated on the hot path, and store and origin-health figures read at scrape
// time. The edge fills one RequestInfo per finished request; this package and the access log
// both consume it, which is why the type lives here.
//
// Label cardinality is bounded by construction: domain and origin labels come from
// configuration (the edge passes configured names, "" for an unknown host), cache and outcome
// labels are folded into fixed sets, and a cap on distinct domains and origins (Config) folds
// anything beyond it into one overflow series instead of growing without end.
package metrics
