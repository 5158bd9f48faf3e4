// Package admin owns a node's operator API: purge, prefetch, config reload, metrics, stats and
// health, served on a listener of its own (loopback by default) so that none of it is reachable
// through the client-facing ports.
//
// Every endpoint except /healthz and /readyz requires "Authorization: Bearer TOKEN" when a token
// is configured; without a token the listener must be on a loopback address. The package knows
// the edge only through the small Edge interface, so it can be tested, and later driven by the
// control plane, without a running edge.
//
// The endpoints, with request and response examples, are described in docs/admin-api.md.
package admin
