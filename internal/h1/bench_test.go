package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
)

func objectHandler(size int) http.Handler {
	body := bytes.Repeat([]byte("x"), size)
	cl := []string{strconv.Itoa(size)}
	ct := []string{"image/jpeg"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Length"] = cl
		h["Content-Type"] = ct
		w.Write(body)
	})
}

const benchRequest = "GET /images/cat.jpg HTTP/1.1\r\nHost: cdn.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: image/avif,image/webp,*/*\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.5\r\n\r\n"

// BenchmarkServeKeepAlive: sequential GETs of a 1 KB object on one
// keep-alive connection, with h1 and with net/http. The client parses
// without allocating, so allocs/op are the server's.
func BenchmarkServeKeepAlive(b *testing.B) {
	b.Run("h1", func(b *testing.B) {
		addr := startServer(b, &Server{Handler: objectHandler(1024)})
		benchKeepAlive(b, addr)
	})
	b.Run("net-http", func(b *testing.B) {
		addr := startStd(b, objectHandler(1024))
		benchKeepAlive(b, addr)
	})
}

func benchKeepAlive(b *testing.B, addr string) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 16<<10)
	req := []byte(benchRequest)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readResponse(br); err != nil {
			b.Fatal(err)
		}
	}
}

// readResponse consumes one response framed by Content-Length.
func readResponse(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n = 0
			for _, c := range v[:len(v)-2] {
				n = n*10 + int(c-'0')
			}
		}
	}
	if n < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(n)
	return err
}

// BenchmarkServeWatched is BenchmarkServeKeepAlive/h1 with a handler that
// watches for a disconnect around its work (WatchDisconnect, then stop):
// the price of the opt-in, paid only by handlers about to wait long.
func BenchmarkServeWatched(b *testing.B) {
	inner := objectHandler(1024)
	addr := startServer(b, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stop := WatchDisconnect(w)
		inner.ServeHTTP(w, r)
		stop()
	})})
	benchKeepAlive(b, addr)
}
