// Package access owns the edge's per-domain access decisions, as pure functions over values the edge
// already has (escaped path, raw query, header strings, addresses) and an injected "now":
//
//   - URL signing: the four common CDN formats A, B, C (path and query forms) and F, plus an
//     HMAC-SHA256 format of our own, with a primary and secondary keys for rotation, a validity
//     window and a clock-skew tolerance ([Verifier]). A verified request comes back with its signing
//     parts removed, so every signature of one object shares one cache entry and the origin never
//     sees a signature.
//   - Referer allow/deny lists with whole-label wildcards ([RefererRule]).
//   - User-Agent allow/deny globs ([UARule]).
//   - IPv4/IPv6 CIDR sets looked up by binary search over merged ranges ([IPSet], [IPRule]) and the
//     rightmost-untrusted client address behind trusted proxies ([ClientIP]).
//
// Nothing here does I/O, reads the clock or keeps mutable state: every rule is built once from its
// Config, validated, and then safe for concurrent use. Failures carry a short reason token
// ([VerifyError.Reason]) for a response header; turning them into statuses is the edge's job.
package access
