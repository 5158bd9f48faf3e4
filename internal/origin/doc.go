// Package origin owns the connection from an edge to the place content comes from: a local
// directory, one or more HTTP(S) servers, or an S3-compatible bucket. All three answer the same
// interface, Origin, so the edge never knows which kind it talks to.
//
// The three kinds:
//
//   - FS serves a directory (NewFS, confined with os.Root so no path or symlink leaves it) or any
//     fs.FS such as the demo's embedded site (NewFSFrom). It answers conditional requests itself,
//     because the edge revalidates with If-None-Match and If-Modified-Since.
//   - HTTP spreads requests over several servers by priority and smooth weighted round robin,
//     fails over on connect errors, TLS errors, timeouts before headers and chosen statuses, and
//     keeps passive health per server (skip after FailThreshold failures, one trial after
//     FailCooldown). Host and TLS SNI can be set per server.
//   - S3 reads objects from an S3-compatible bucket (AWS S3, Alibaba OSS, MinIO, versitygw),
//     signing with SigV4 when credentials are configured, and turns S3's answers into plain HTTP
//     responses (404 for a missing key, no S3 XML or x-amz-* headers).
//
// Limit wraps any Origin with a concurrency limit, so one slow origin cannot hold every
// connection of the edge.
//
// Errors: every failure without a usable response is an *Error whose Kind tells the edge which
// status to answer (502, 504, 503, 400) or whether serving stale content is allowed. The edge is
// the one place where kinds become statuses.
package origin
