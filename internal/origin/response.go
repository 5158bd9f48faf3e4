package origin

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// newResponse builds a response the way net/http's client would have returned it, so the edge
// treats responses of every origin kind alike. length is the body's size, -1 when unknown.
func newResponse(req *http.Request, status int, header http.Header, body io.ReadCloser, length int64) *http.Response {
	if header == nil {
		header = make(http.Header)
	}
	if body == nil {
		body = http.NoBody
	}
	if length >= 0 {
		header.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body,
		ContentLength: length,
		Request:       req,
	}
}

// textResponse answers with a short plain-text body (HEAD gets the headers only).
func textResponse(req *http.Request, status int, header http.Header) *http.Response {
	if header == nil {
		header = make(http.Header)
	}
	msg := strconv.Itoa(status) + " " + strings.ToLower(http.StatusText(status)) + "\n"
	header.Set("Content-Type", "text/plain; charset=utf-8")
	header.Set("X-Content-Type-Options", "nosniff")
	var body io.ReadCloser = http.NoBody
	if req.Method != http.MethodHead {
		body = io.NopCloser(strings.NewReader(msg))
	}
	return newResponse(req, status, header, body, int64(len(msg)))
}

// methodNotAllowed is the answer of origins that only read.
func methodNotAllowed(req *http.Request) *http.Response {
	h := make(http.Header)
	h.Set("Allow", "GET, HEAD")
	return textResponse(req, http.StatusMethodNotAllowed, h)
}
