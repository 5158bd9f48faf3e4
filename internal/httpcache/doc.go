// Package httpcache owns the HTTP caching semantics of a pixcdn edge, as pure functions:
// Cache-Control and CDN-Cache-Control parsing (RFC 9111 5.2, RFC 9213), storability and freshness
// for a shared cache (RFC 9111 3, 4.2), stale-while-revalidate and stale-if-error (RFC 5861), age
// arithmetic (RFC 9111 4.2.3), conditional requests and single byte ranges (RFC 9110 13, 14),
// Vary (RFC 9111 4.1), freshening from a 304 (RFC 9111 4.3.4), invalidation after unsafe methods
// (RFC 9111 4.4) and the Cache-Status field (RFC 9211).
//
// Nothing here does I/O, starts goroutines or reads the clock: every instant is a parameter, so the
// edge decides once, at store time, and a hit only compares times. Keeping the rules apart from the
// hot path lets them be table-tested against the RFC text and fuzzed without a server.
package httpcache
