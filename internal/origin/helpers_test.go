package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// get runs one request through o and reads the whole body. kv are header name/value pairs.
func get(t *testing.T, o Origin, method, target string, kv ...string) (*http.Response, []byte, error) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RequestURI = ""
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	return do(t, o, req)
}

func do(t *testing.T, o Origin, req *http.Request) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := o.Fetch(req)
	if err != nil {
		var oe *Error
		if !errors.As(err, &oe) {
			t.Fatalf("Fetch error %v (%T) is not an *origin.Error", err, err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func mustStatus(t *testing.T, resp *http.Response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("want status %d, got error %v", want, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d", resp.StatusCode, want)
	}
}

func mustKind(t *testing.T, err error, want Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error of kind %v, got none", want)
	}
	if got := KindOf(err); got != want {
		t.Fatalf("kind = %v, want %v (err: %v)", got, want, err)
	}
}

func contextWithCancel(req *http.Request) (context.Context, context.CancelFunc) {
	return context.WithCancel(req.Context())
}
