// Package h1 is a strict, allocation-lean HTTP/1.1 server for the edge's
// plain-HTTP listener. It runs any http.Handler, like net/http's Server, but
// trades generality for a shorter hot path:
//
//   - with Server.EventLoops (Linux) and an InlineHandler, a few event loops
//     serve the connections, each an OS thread in epoll_wait that answers
//     every complete GET or HEAD of every ready connection in turn, the way
//     nginx's workers do; a request the handler cannot answer without waiting
//     (ServeInline returns false) moves its connection to a goroutine for good;
//   - otherwise one goroutine per connection and no background read goroutine: a
//     client that disconnects while a handler runs is noticed only when the
//     server next reads or writes, unless the handler opts in with
//     WatchDisconnect (a handler about to wait long, e.g. for an image
//     worker, pays for one background read; the others pay nothing);
//   - the *http.Request, its Header map, its url.URL, the request body and
//     the ResponseWriter are reused across the requests of a connection, and
//     a connection's buffers are pooled between connections;
//   - responses are assembled in a 64 KiB write buffer that is flushed only
//     when the server is about to wait for input (or when it fills), so a
//     header plus a 20 KB body leave in one write, and pipelined responses
//     leave together;
//   - request parsing follows RFC 9112 strictly and refuses what could be
//     read two ways (Content-Length with Transfer-Encoding, obs-fold, bare
//     CR or LF, whitespace before a colon, duplicate Host) with a 4xx/5xx
//     and a closed connection.
//
// Handlers must not retain the *http.Request, its Header, URL or Body, or the
// ResponseWriter after ServeHTTP returns (net/http documents the same; here
// it is enforced by reuse: the next request on the connection overwrites
// them). Strings taken from the request (header values, paths) are immutable
// and may be kept.
//
// r.Context() belongs to the connection, not the request: it is cancelled
// when the connection ends (after the last handler returned), when the
// server is closed, or, while a handler watches with WatchDisconnect, when
// the client closes or resets the connection; never otherwise while a
// handler runs. It carries http.LocalAddrContextKey (not
// http.ServerContextKey).
//
// Differences from net/http a handler may notice: header changes made after
// WriteHeader and before the first Write are still sent; Content-Type is
// never sniffed; a request-target with raw bytes above 0x7e is refused (400);
// Transfer-Encoding in an HTTP/1.0 request, or with Content-Length, is
// refused; OPTIONS * reaches the handler.
//
// Not supported: Hijack (no WebSocket or CONNECT tunnels), TLS (the edge
// terminates TLS elsewhere), request trailers (they are read and dropped),
// response trailers.
package h1
