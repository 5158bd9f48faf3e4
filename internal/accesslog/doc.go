// Package accesslog owns the edge's access log: one line per finished request, as JSON or as
// NCSA combined with the cache status and duration appended.
//
// Cost on the request path is one short critical section: the line is formatted straight into
// a shared 64 KB buffer (the second of the timestamp formatted once per second), with no
// per-line object and no channel operation. A full buffer is handed to one writer goroutine,
// which writes it with a single call; a partly filled one goes out within the flush interval.
// When the writer falls behind (a slow disk) and BufferLines lines wait, further lines are
// dropped and counted rather than delaying responses.
package accesslog
