package h1

import (
	"net/http"
	"strings"
)

// statusError is a request the server refuses before any handler sees it:
// the connection answers with code and closes.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return http.StatusText(e.code) + ": " + e.msg }

func badRequest(msg string) *statusError { return &statusError{http.StatusBadRequest, msg} }

var (
	errRequestLine    = badRequest("malformed request line")
	errMethod         = badRequest("invalid method")
	errTarget         = badRequest("invalid request-target")
	errVersion        = badRequest("malformed HTTP version")
	errVersionSupport = &statusError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
	errConnect        = &statusError{http.StatusNotImplemented, "CONNECT is not supported"}
	errHeaderLine     = badRequest("malformed header line")
	errObsFold        = badRequest("obsolete line folding")
	errFieldName      = badRequest("invalid header field name")
	errFieldValue     = badRequest("invalid header field value")
	errNoHost         = badRequest("missing Host header")
	errManyHosts      = badRequest("more than one Host header")
	errBadHost        = badRequest("malformed Host header")
	errContentLength  = badRequest("invalid Content-Length")
	errCLAndTE        = badRequest("both Content-Length and Transfer-Encoding")
	errTEHTTP10       = badRequest("Transfer-Encoding in an HTTP/1.0 request")
	errTEFinal        = badRequest("chunked is not the final transfer coding")
	errTEUnsupported  = &statusError{http.StatusNotImplemented, "unsupported transfer coding"}
	errExpect         = &statusError{http.StatusExpectationFailed, "unsupported expectation"}
	errHeaderTooLarge = &statusError{http.StatusRequestHeaderFieldsTooLarge, "request header too large"}
	errURITooLong     = &statusError{http.StatusRequestURITooLong, "request line too long"}
	errLeadingCRLF    = badRequest("too many empty lines before the request line")
)

// head is what parseHead takes out of a request line and header block.
// The strings point into the block; header values live in values.
type head struct {
	method, target string
	minor          int // 0 or 1: HTTP/1.minor
	header         http.Header
	values         []string // backing array of header's value slices, reused
	host           string
	contentLength  int64 // -1 when the request has no Content-Length
	chunked        bool
	close          bool // the client asked to close after this exchange
	expectContinue bool
}

// parseHead parses block, a request line and header fields each ending in
// CRLF followed by an empty line, into h. h.header must be empty. It never
// accepts a request carrying both Content-Length and Transfer-Encoding.
func parseHead(block string, h *head) *statusError {
	rest, err := parseRequestLine(block, h)
	if err != nil {
		return err
	}
	if err := parseFields(rest, h); err != nil {
		return err
	}
	return h.interpret()
}

func parseRequestLine(block string, h *head) (string, *statusError) {
	line, rest, ok := strings.Cut(block, "\r\n")
	if !ok {
		return "", errRequestLine
	}
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 {
		return "", errRequestLine
	}
	if !isToken(method) {
		return "", errMethod
	}
	if !isTarget(target) {
		return "", errTarget
	}
	minor, err := parseVersion(proto)
	if err != nil {
		return "", err
	}
	if method == "CONNECT" {
		return "", errConnect
	}
	h.method, h.target, h.minor = method, target, minor
	return rest, nil
}

// parseVersion accepts exactly "HTTP/1.0" and "HTTP/1.1"; any other
// well-formed HTTP-version is a 505, anything else a 400.
func parseVersion(p string) (int, *statusError) {
	if len(p) != 8 || p[:5] != "HTTP/" || !isDigit(p[5]) || p[6] != '.' || !isDigit(p[7]) {
		return 0, errVersion
	}
	if p[5] != '1' || p[7] > '1' {
		return 0, errVersionSupport
	}
	return int(p[7] - '0'), nil
}

func parseFields(rest string, h *head) *statusError {
	for {
		line, next, ok := strings.Cut(rest, "\r\n")
		if !ok {
			return errHeaderLine
		}
		if line == "" {
			if next != "" {
				return errHeaderLine
			}
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errObsFold
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errHeaderLine
		}
		if !isToken(name) {
			return errFieldName
		}
		value = trimOWS(value)
		if !isFieldValue(value) {
			return errFieldValue
		}
		h.add(canonicalKey(name), value)
		rest = next
	}
}

// add appends a value without allocating a slice per field: single values
// share h.values as backing array, capped so a later append copies.
func (h *head) add(key, value string) {
	if vv, ok := h.header[key]; ok {
		h.header[key] = append(vv, value)
		return
	}
	n := len(h.values)
	h.values = append(h.values, value)
	h.header[key] = h.values[n : n+1 : n+1]
}

// interpret applies the semantics of the fields that frame the message or
// govern the connection, and removes those net/http also removes.
func (h *head) interpret() *statusError {
	if err := h.interpretHost(); err != nil {
		return err
	}
	if err := h.interpretFraming(); err != nil {
		return err
	}
	conn := h.header["Connection"]
	if h.minor == 0 {
		h.close = !hasToken(conn, "keep-alive")
	} else {
		h.close = hasToken(conn, "close")
	}
	if err := h.interpretExpect(); err != nil {
		return err
	}
	// net/http does this for HTTP/1.0 caches; keep handlers seeing the same.
	if p := h.header["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h.header["Cache-Control"]; !ok {
			h.header["Cache-Control"] = []string{"no-cache"}
		}
	}
	return nil
}

func (h *head) interpretHost() *statusError {
	hosts, ok := h.header["Host"]
	switch {
	case len(hosts) > 1:
		return errManyHosts
	case !ok && h.minor == 1:
		return errNoHost
	case ok && !isHost(hosts[0]):
		return errBadHost
	case ok:
		h.host = hosts[0]
		delete(h.header, "Host")
	}
	return nil
}

func (h *head) interpretFraming() *statusError {
	cls, hasCL := h.header["Content-Length"]
	tes, hasTE := h.header["Transfer-Encoding"]
	h.contentLength = -1
	if hasCL && hasTE {
		return errCLAndTE
	}
	if hasCL {
		n, err := parseContentLengths(cls)
		if err != nil {
			return err
		}
		h.contentLength = n
		if len(cls) > 1 {
			h.header["Content-Length"] = cls[:1]
		}
	}
	if hasTE {
		if h.minor == 0 {
			return errTEHTTP10
		}
		if err := checkTransferCodings(tes); err != nil {
			return err
		}
		h.chunked = true
		delete(h.header, "Transfer-Encoding")
		delete(h.header, "Trailer")
	}
	return nil
}

// parseContentLengths accepts one or more identical values of 1*DIGIT.
func parseContentLengths(vv []string) (int64, *statusError) {
	for _, v := range vv[1:] {
		if v != vv[0] {
			return 0, errContentLength
		}
	}
	n, ok := parseDecimal(vv[0])
	if !ok {
		return 0, errContentLength
	}
	return n, nil
}

// parseDecimal parses 1*DIGIT into a non-negative int64, refusing signs,
// spaces and overflow.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// checkTransferCodings accepts exactly one coding, chunked, over all the
// Transfer-Encoding lines. RFC 9112 §6.3: chunked must be final (else the
// length is unknowable: 400); other codings are refused with 501.
func checkTransferCodings(tes []string) *statusError {
	n, last := 0, ""
	for _, v := range tes {
		for c := range strings.SplitSeq(v, ",") {
			n, last = n+1, trimOWS(c)
		}
	}
	if !strings.EqualFold(last, "chunked") {
		return errTEFinal
	}
	if n > 1 {
		return errTEUnsupported
	}
	return nil
}

func (h *head) interpretExpect() *statusError {
	ex, ok := h.header["Expect"]
	if !ok || h.minor == 0 {
		return nil
	}
	if len(ex) != 1 || !strings.EqualFold(ex[0], "100-continue") {
		return errExpect
	}
	h.expectContinue = h.contentLength > 0 || h.chunked
	return nil
}
