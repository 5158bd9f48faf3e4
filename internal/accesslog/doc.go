// Package accesslog owns the edge's access log: one line per finished request, as JSON or as
// NCSA combined with the cache status and duration appended.
//
// Cost on the request path is a format into a pooled buffer and a non-blocking channel send;
// one writer goroutine owns the file, batches lines through a 64 KB bufio.Writer and flushes
// with bounded staleness. When the writer falls behind (a slow disk), lines are dropped and
// counted rather than delaying responses.
package accesslog
