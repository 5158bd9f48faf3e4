package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// seen is what a handler observes of a request.
type seen struct {
	Method, Path, RawPath, RawQuery, Scheme, URLHost string
	ForceQuery                                       bool
	Host, RequestURI, Proto                          string
	Header                                           http.Header
	ContentLength                                    int64
	TransferEncoding                                 []string
	Close                                            bool
	Body                                             string
	BodyErr                                          string
}

func recordingHandler(out chan<- seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		s := seen{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery,
			Scheme: r.URL.Scheme, URLHost: r.URL.Host, ForceQuery: r.URL.ForceQuery,
			Host: r.Host, RequestURI: r.RequestURI, Proto: r.Proto, Header: r.Header.Clone(),
			ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, Close: r.Close,
			Body: string(b),
		}
		if err != nil {
			s.BodyErr = err.Error()
		}
		out <- s
		w.Header().Set("Content-Length", "0")
	})
}

var differentialCorpus = []string{
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"GET /a/b/c.jpg?w=100&h=200 HTTP/1.1\r\nHost: img.example.com\r\nUser-Agent: test\r\nAccept: image/avif,image/webp,*/*\r\n\r\n",
	"GET /a%2Fb/c%20d.png HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /caf%C3%A9/%7Euser HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a!b*c(d)'e HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /p;param=1/q HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET //double//slash HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /dots/../x/./y HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /q? HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /q?? HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /q?a?b? HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /q?a=%zz&b=[1] HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a+b%2B HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a[b]{c}|d^e`f HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /frag#ment HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a:b@c HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://Abs.Example:8080/p/q?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n",
	"GET https://u@abs.example/p%20q HTTP/1.1\r\nHost: ignored\r\n\r\n",
	"get /lower-method HTTP/1.1\r\nHost: x\r\n\r\n",
	"PURGE /custom-method HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: old\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
	"GET / HTTP/1.1\r\nhost: lower.example\r\nuser-agent: ua\r\naccept-encoding: gzip, br\r\nx-custom-thing: 1\r\nX-CUSTOM-SHOUT: 2\r\ncontent-type: text/plain\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: a\r\nAccept:b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Spaces:   padded value \t \r\nX-Empty:\r\nX-Obs-Text: caf\xc3\xa9\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX_Under_Score: u\r\nx-a-b-c: abc\r\n\r\n",
	"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world",
	"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\nabcdefg",
	"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\nA;name=value\r\n0123456789\r\n0\r\n\r\n",
	"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"PUT /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
	"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n",
	"DELETE /d HTTP/1.1\r\nHost: x\r\nIf-Match: \"etag\"\r\n\r\n",
	"GET /%41%42%43 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\n",
}

// TestDifferential checks that handlers see the same request from h1 as
// from net/http's server for the same bytes. (OPTIONS * is left out:
// net/http answers it without calling the handler.)
func TestDifferential(t *testing.T) {
	for _, mode := range serverModes {
		t.Run(mode.name, func(t *testing.T) {
			fromH1, fromStd := make(chan seen, 1), make(chan seen, 1)
			h1Addr := mode.start(t, recordingHandler(fromH1), &Server{})
			stdAddr := startStd(t, recordingHandler(fromStd))
			for _, raw := range differentialCorpus {
				got := observe(t, h1Addr, raw, fromH1)
				want := observe(t, stdAddr, raw, fromStd)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("request %q\n h1:       %+v\n net/http: %+v", raw, got, want)
				}
			}
		})
	}
}

func startStd(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func observe(t *testing.T, addr, raw string, from <-chan seen) seen {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, raw)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	resp.Body.Close()
	select {
	case s := <-from:
		return s
	default:
		t.Fatalf("%q: handler not called, status %d", raw, resp.StatusCode)
	}
	return seen{}
}
