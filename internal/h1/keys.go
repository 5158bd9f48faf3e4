package h1

import (
	"net/textproto"
)

// commonKeys maps the lower-case spelling of frequent request header names
// to their canonical form, so that clients sending lower-case names (curl
// scripts, some HTTP/1 proxies, h2-to-h1 gateways) do not cost an
// allocation per field. Canonical spellings never reach this table: they
// are returned as they are.
var commonKeys = lowerIndex([]string{
	"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
	"Authorization", "Cache-Control", "Cdn-Loop", "Connection",
	"Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Date",
	"Dnt", "Expect", "Forwarded", "From", "Host", "If-Match",
	"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
	"Keep-Alive", "Origin", "Pragma", "Priority", "Range", "Referer",
	"Save-Data", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
	"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Upgrade-Insecure-Requests", "User-Agent", "Via", "X-Forwarded-For",
	"X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Requested-With",
})

func lowerIndex(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		lower := make([]byte, len(n))
		for i := range len(n) {
			lower[i] = toLower(n[i])
		}
		m[string(lower)] = n
	}
	return m
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// canonicalKey returns textproto.CanonicalMIMEHeaderKey(name) for a valid
// field name, without allocating when name is already canonical or is one
// of commonKeys in any case.
func canonicalKey(name string) string {
	if isCanonical(name) {
		return name
	}
	if len(name) <= 32 {
		var buf [32]byte
		for i := range len(name) {
			buf[i] = toLower(name[i])
		}
		if k, ok := commonKeys[string(buf[:len(name)])]; ok {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// isCanonical reports whether name is already in canonical form: upper case
// at the start and after each '-', lower case elsewhere.
func isCanonical(name string) bool {
	upper := true
	for i := range len(name) {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}
