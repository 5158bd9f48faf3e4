package accesslog

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

const hexDigits = "0123456789abcdef"

// appendJSON appends ri as one JSON object and a newline. Field order is fixed so that lines
// compare and grep well; strings are escaped exactly as encoding/json does with HTML escaping
// off (the fuzz test holds it to that).
func appendJSON(b []byte, ri *metrics.RequestInfo) []byte {
	var tc timeCache
	return tc.appendJSON(b, ri)
}

// appendJSON is appendJSON with the formatted second taken from (and kept in) tc.
func (tc *timeCache) appendJSON(b []byte, ri *metrics.RequestInfo) []byte {
	b = append(b, `{"time":"`...)
	b = tc.appendUTCMillis(b, ri.Start)
	b = appendJSONField(b, `","remote_ip":`, ri.RemoteIP)
	b = appendJSONField(b, `,"method":`, ri.Method)
	b = appendJSONField(b, `,"host":`, ri.Host)
	b = appendJSONField(b, `,"uri":`, ri.URI)
	b = appendJSONField(b, `,"proto":`, ri.Proto)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(ri.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, ri.BytesSent, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, ri.Duration)
	b = appendJSONField(b, `,"cache":`, ri.CacheStatus)
	b = appendJSONField(b, `,"cache_status":`, ri.CacheHeader)
	b = append(b, `,"origin_ms":`...)
	b = appendMillis(b, ri.OriginTime)
	b = appendJSONField(b, `,"origin":`, ri.OriginServer)
	b = appendJSONField(b, `,"referer":`, ri.Referer)
	b = appendJSONField(b, `,"user_agent":`, ri.UserAgent)
	b = appendJSONField(b, `,"request_id":`, ri.RequestID)
	b = appendJSONField(b, `,"domain":`, ri.Domain)
	return append(b, "}\n"...)
}

func appendJSONField(b []byte, key, v string) []byte {
	return appendJSONString(append(b, key...), v)
}

// appendJSONString appends s as a JSON string the way encoding/json does without HTML
// escaping: short escapes for \b \f \n \r \t, \u00XX for other controls, U+FFFD for each
// invalid UTF-8 byte, and \u2028 \u2029 escaped so the line is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	if jsonPlainString(s) {
		return append(append(b, s...), '"')
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			b = appendJSONControl(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonPlainString reports whether s goes into a JSON string as it is, 8 bytes at a time; a
// tail shorter than 8 is checked as the last 8 bytes, overlapping what was checked already.
func jsonPlainString(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if !plain8(s[i:]) {
			return false
		}
	}
	switch {
	case i == len(s):
		return true
	case len(s) >= 8:
		return plain8(s[len(s)-8:])
	}
	for ; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return false
		}
	}
	return true
}

// plain8 reports whether none of the first 8 bytes of s needs attention in a JSON string: no
// control byte, '"', '\\' or byte >= 0x80 (which may start invalid UTF-8 or U+2028). It tests
// all 8 at once (the has-less-than and has-zero-byte tricks on a 64-bit word), since most
// of a log line is plain ASCII; the compiler merges the byte loads into one.
func plain8(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	_ = s[7]
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	ctl := (x - lo*0x20) &^ x
	q := x ^ (lo * '"')
	q = (q - lo) &^ q
	bs := x ^ (lo * '\\')
	bs = (bs - lo) &^ bs
	return (ctl|q|bs|x)&hi == 0
}

// jsonPlain marks the ASCII bytes a JSON string carries as they are; bytes >= 0x80 are
// false so that UTF-8 is checked.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendJSONControl(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendCombined appends ri in NCSA combined format followed by the cache class, the duration
// and the request ID:
//
//	203.0.113.7 - - [02/Jan/2006:15:04:05 -0700] "GET /a.jpg HTTP/1.1" 200 1234 "ref" "ua" cache=hit dur_ms=0.4 rid=abc
//
// Quoted fields escape '"', '\\', control bytes and bytes >= 0x7f as \xHH, as nginx does, so
// a field can never end its quotes or the line; unquoted fields escape spaces too.
func appendCombined(b []byte, ri *metrics.RequestInfo) []byte {
	var tc timeCache
	return tc.appendCombined(b, ri)
}

// appendCombined is appendCombined with the formatted second taken from (and kept in) tc.
func (tc *timeCache) appendCombined(b []byte, ri *metrics.RequestInfo) []byte {
	b = appendBare(b, ri.RemoteIP)
	b = append(b, " - - ["...)
	b = tc.appendCLF(b, ri.Start)
	b = append(b, `] "`...)
	b = appendEscaped(b, ri.Method, false)
	b = append(b, ' ')
	b = appendEscaped(b, ri.URI, false)
	b = append(b, ' ')
	b = appendEscaped(b, ri.Proto, false)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(ri.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ri.BytesSent, 10)
	b = appendQuoted(append(b, ' '), ri.Referer)
	b = appendQuoted(append(b, ' '), ri.UserAgent)
	b = appendBare(append(b, " cache="...), ri.CacheStatus)
	b = appendMillis(append(b, " dur_ms="...), ri.Duration)
	b = appendBare(append(b, " rid="...), ri.RequestID)
	return append(b, '\n')
}

// appendQuoted appends s in double quotes, "-" when empty.
func appendQuoted(b []byte, s string) []byte {
	if s == "" {
		return append(b, `"-"`...)
	}
	b = append(b, '"')
	return append(appendEscaped(b, s, false), '"')
}

// appendBare appends s for an unquoted position, "-" when empty.
func appendBare(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s, true)
}

func appendEscaped(b []byte, s string, bare bool) []byte {
	plain := &clfQuotedPlain
	if bare {
		plain = &clfBarePlain
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain[c] {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF])
		start = i + 1
	}
	return append(b, s[start:]...)
}

// clfQuotedPlain and clfBarePlain mark the bytes written as they are inside quotes and in an
// unquoted field: printable ASCII but '"' and '\\' (and ' ' when unquoted).
var clfQuotedPlain, clfBarePlain = func() (q, u [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		q[c] = c != '"' && c != '\\'
		u[c] = q[c] && c != ' '
	}
	return q, u
}()

// appendMillis appends d in milliseconds with microsecond precision and no trailing zeros
// ("0.412", "25", "2000.5"); integer arithmetic, as float formatting costs several times more.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := int(us % 1000)
	if frac == 0 {
		return b
	}
	width := 3
	for frac%10 == 0 {
		frac /= 10
		width--
	}
	return appendInt(append(b, '.'), frac, width)
}

// timeCache remembers the last second formatted for each format: consecutive lines almost
// always share it, so a line costs a copy and three digits instead of a calendar
// computation. The zero value is empty. Not safe for concurrent use (the Logger guards it with
// the lock of the buffer it formats into).
type timeCache struct {
	utcSec int64 // the second in utc, valid when utcLen > 0
	utcLen int
	utc    [32]byte // "2006-01-02T15:04:05."
	clfSec int64    // the second and location in clf, valid when clfLen > 0
	clfLoc *time.Location
	clfLen int
	clf    [40]byte // "02/Jan/2006:15:04:05 -0700"
}

// appendUTCMillis appends t in UTC as 2006-01-02T15:04:05.000Z, as appendRFC3339Millis does.
func (tc *timeCache) appendUTCMillis(b []byte, t time.Time) []byte {
	if sec := t.Unix(); tc.utcLen == 0 || sec != tc.utcSec {
		p := append(appendRFC3339Second(tc.utc[:0], t.UTC()), '.')
		if len(p) > len(tc.utc) { // a year that outgrew the array: not cached
			tc.utcLen = 0
			return append(appendInt(append(b, p...), t.Nanosecond()/1e6, 3), 'Z')
		}
		tc.utcSec, tc.utcLen = sec, len(p)
	}
	b = append(b, tc.utc[:tc.utcLen]...)
	return append(appendInt(b, t.Nanosecond()/1e6, 3), 'Z')
}

// appendCLF appends t as appendCLFTime does, from the cache when t falls in the same second
// and location as the last call.
func (tc *timeCache) appendCLF(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if tc.clfLen == 0 || sec != tc.clfSec || loc != tc.clfLoc {
		p := appendCLFTime(tc.clf[:0], t)
		if len(p) > len(tc.clf) {
			tc.clfLen = 0
			return append(b, p...)
		}
		tc.clfSec, tc.clfLoc, tc.clfLen = sec, loc, len(p)
	}
	return append(b, tc.clf[:tc.clfLen]...)
}

// appendRFC3339Second appends t's date and time of day as 2006-01-02T15:04:05.
func appendRFC3339Second(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendInt(b, year, 4)
	b = appendInt(append(b, '-'), int(month), 2)
	b = appendInt(append(b, '-'), day, 2)
	b = appendInt(append(b, 'T'), hour, 2)
	b = appendInt(append(b, ':'), min, 2)
	return appendInt(append(b, ':'), sec, 2)
}

// appendRFC3339Millis appends t as 2006-01-02T15:04:05.000Z07:00; hand-written because
// Time.AppendFormat parses its layout on every call.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	b = appendRFC3339Second(b, t)
	b = appendInt(append(b, '.'), t.Nanosecond()/1e6, 3)
	_, offset := t.Zone()
	if offset == 0 {
		return append(b, 'Z')
	}
	return appendOffset(b, offset, true)
}

const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// appendCLFTime appends t as 02/Jan/2006:15:04:05 -0700 in t's own location.
func appendCLFTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendInt(b, day, 2)
	b = append(append(b, '/'), monthNames[3*(month-1):3*month]...)
	b = appendInt(append(b, '/'), year, 4)
	b = appendInt(append(b, ':'), hour, 2)
	b = appendInt(append(b, ':'), min, 2)
	b = appendInt(append(b, ':'), sec, 2)
	_, offset := t.Zone()
	return appendOffset(append(b, ' '), offset, false)
}

// appendOffset appends a zone offset as +hh:mm (colon) or +hhmm.
func appendOffset(b []byte, offset int, colon bool) []byte {
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	b = appendInt(append(b, sign), offset/3600, 2)
	if colon {
		b = append(b, ':')
	}
	return appendInt(b, offset/60%60, 2)
}

// appendInt appends a non-negative n zero-padded to width digits.
func appendInt(b []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(b, buf[i:]...)
}
