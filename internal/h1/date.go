package h1

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateCache keeps the "Date: ...\r\n" line of the current second, so a
// response formats a date at most once per second per server.
type dateCache struct {
	v atomic.Pointer[dateLine]
}

type dateLine struct {
	sec  int64
	line []byte
}

func (d *dateCache) line(now time.Time) []byte {
	sec := now.Unix()
	if e := d.v.Load(); e != nil && e.sec == sec {
		return e.line
	}
	b := make([]byte, 0, len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"))
	b = append(b, "Date: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n"...)
	d.v.Store(&dateLine{sec: sec, line: b})
	return b
}
