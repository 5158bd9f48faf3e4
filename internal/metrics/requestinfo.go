package metrics

import "time"

// RequestInfo describes one finished request. The edge fills one per request (on its stack or
// pooled) and hands a pointer to Metrics.Request and to the access log; neither keeps the
// pointer or any of its strings after the call returns, so the caller may reuse it at once.
type RequestInfo struct {
	Start    time.Time
	Duration time.Duration
	// Domain is the configured domain name ("*" for the catch-all, "" when the host was unknown).
	Domain string
	// URI is the RequestURI as received.
	Host, Method, URI, Proto string
	ProtoMajor               int // 1, 2 or 3: the HTTP version, for the metrics (Proto is for the log)
	RemoteIP                 string
	Status                   int
	BytesSent                int64         // body bytes written
	CacheStatus              string        // "hit", "stale", "miss", "pass", "error": the class, for labels
	CacheHeader              string        // the full Cache-Status header value, for the log
	OriginTime               time.Duration // time spent waiting on the origin (0 for hits)
	OriginServer             string
	Referer, UserAgent       string
	RequestID                string
}
