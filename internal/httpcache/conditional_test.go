package httpcache

import (
	"net/http"
	"testing"
	"time"
)

func TestValidatorsOf(t *testing.T) {
	lm := t0.Add(-time.Hour)
	tests := []struct {
		name string
		h    http.Header
		want Validators
	}{
		{"strong", hdr("ETag", `"abc"`, "Last-Modified", httpDate(lm)), Validators{ETag: `"abc"`, LastModified: lm}},
		{"weak kept with prefix", hdr("ETag", `W/"abc"`), Validators{ETag: `W/"abc"`}},
		{"unquoted dropped", hdr("ETag", `abc`), Validators{}},
		{"trailing junk dropped", hdr("ETag", `"a" x`), Validators{}},
		{"bad date dropped", hdr("Last-Modified", "yesterday"), Validators{}},
	}
	for _, tt := range tests {
		if got := ValidatorsOf(tt.h); got != tt.want {
			t.Errorf("%s: ValidatorsOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestCheckPreconditions(t *testing.T) {
	lm := t0
	strong := Validators{ETag: `"v1"`, LastModified: lm}
	weak := Validators{ETag: `W/"v1"`, LastModified: lm}
	noTag := Validators{LastModified: lm}
	before, after := httpDate(lm.Add(-time.Hour)), httpDate(lm.Add(time.Hour))
	tests := []struct {
		name   string
		method string
		req    http.Header
		v      Validators
		want   int
	}{
		{"no conditionals", "GET", hdr(), strong, 0},
		{"RFC9110-13.1.2 INM weak match of strong", "GET", hdr("If-None-Match", `W/"v1"`), strong, 304},
		{"RFC9110-13.1.2 INM weak match of weak", "GET", hdr("If-None-Match", `"v1"`), weak, 304},
		{"RFC9110-13.1.2 INM no match", "GET", hdr("If-None-Match", `"v2"`), strong, 0},
		{"RFC9110-13.1.2 INM list", "GET", hdr("If-None-Match", `"a", "b" ,W/"v1"`), strong, 304},
		{"RFC9110-13.1.2 INM list across lines", "GET", hdr("If-None-Match", `"a"`, "If-None-Match", `"v1"`), strong, 304},
		{"RFC9110-8.8.3 comma inside etag", "GET", hdr("If-None-Match", `"a,b"`), Validators{ETag: `"a,b"`}, 304},
		{"RFC9110-13.1.2 INM star", "GET", hdr("If-None-Match", "*"), strong, 304},
		{"RFC9110-13.1.2 INM star without etag", "GET", hdr("If-None-Match", "*"), noTag, 304},
		{"RFC9110-13.1.2 INM match on HEAD", "HEAD", hdr("If-None-Match", `"v1"`), strong, 304},
		{"RFC9110-13.1.2 INM match on unsafe method is 412", "PUT", hdr("If-None-Match", `"v1"`), strong, 412},
		{"RFC9110-13.1.2 INM and no stored etag", "GET", hdr("If-None-Match", `"v1"`), noTag, 0},
		{"RFC9110-13.1.1 IM strong match", "GET", hdr("If-Match", `"v1"`), strong, 0},
		{"RFC9110-13.1.1 IM never matches weak", "GET", hdr("If-Match", `W/"v1"`), strong, 412},
		{"RFC9110-13.1.1 IM stored weak fails", "GET", hdr("If-Match", `"v1"`), weak, 412},
		{"RFC9110-13.1.1 IM no match", "GET", hdr("If-Match", `"v2"`), strong, 412},
		{"RFC9110-13.1.1 IM list", "GET", hdr("If-Match", `"x", "v1"`), strong, 0},
		{"RFC9110-13.1.1 IM star", "GET", hdr("If-Match", "*"), noTag, 0},
		{"RFC9110-13.1.1 IM malformed fails", "GET", hdr("If-Match", `v1`), strong, 412},
		{"RFC9110-13.1.4 IUS unmodified", "GET", hdr("If-Unmodified-Since", after), strong, 0},
		{"RFC9110-13.1.4 IUS same second", "GET", hdr("If-Unmodified-Since", httpDate(lm)), strong, 0},
		{"RFC9110-13.1.4 IUS modified", "GET", hdr("If-Unmodified-Since", before), strong, 412},
		{"RFC9110-13.1.4 IUS invalid ignored", "GET", hdr("If-Unmodified-Since", "nope"), strong, 0},
		{"RFC9110-13.1.4 IUS without Last-Modified ignored", "GET", hdr("If-Unmodified-Since", before), Validators{ETag: `"v1"`}, 0},
		{"RFC9110-13.2.2 IUS ignored when IM present", "GET", hdr("If-Match", `"v1"`, "If-Unmodified-Since", before), strong, 0},
		{"RFC9110-13.1.3 IMS not modified", "GET", hdr("If-Modified-Since", httpDate(lm)), strong, 304},
		{"RFC9110-13.1.3 IMS modified", "GET", hdr("If-Modified-Since", before), strong, 0},
		{"RFC9110-13.1.3 IMS later date", "GET", hdr("If-Modified-Since", after), strong, 304},
		{"RFC9110-13.1.3 IMS only for GET/HEAD", "POST", hdr("If-Modified-Since", after), strong, 0},
		{"RFC9110-13.1.3 IMS invalid ignored", "GET", hdr("If-Modified-Since", "0"), strong, 0},
		{"RFC9110-13.1.3 IMS obsolete date format", "GET", hdr("If-Modified-Since", lm.Format(time.RFC850)), strong, 304},
		{"RFC9110-13.2.2 IMS ignored when INM present", "GET", hdr("If-None-Match", `"v2"`, "If-Modified-Since", after), strong, 0},
		{"RFC9110-13.2.2 412 from IM before 304 from INM", "GET", hdr("If-Match", `"v2"`, "If-None-Match", `"v1"`), strong, 412},
		{"RFC9110-13.2.2 412 from IUS before 304 from IMS", "GET", hdr("If-Unmodified-Since", before, "If-Modified-Since", after), strong, 412},
	}
	for _, tt := range tests {
		if got := CheckPreconditions(tt.method, tt.req, tt.v); got != tt.want {
			t.Errorf("%s: CheckPreconditions = %d, want %d", tt.name, got, tt.want)
		}
	}
}
