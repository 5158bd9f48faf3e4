package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGenCIDRs(t *testing.T) {
	for _, n := range []int{2, 11, 1000} {
		a, b := GenCIDRs(n, 7), GenCIDRs(n, 7)
		if len(a) != n {
			t.Fatalf("n=%d: got %d", n, len(a))
		}
		v4 := 0
		for i, p := range a {
			if p != b[i] {
				t.Fatalf("n=%d: not deterministic at %d: %s vs %s", n, i, p, b[i])
			}
			if p.Contains(loopback) {
				t.Fatalf("%s contains 127.0.0.1", p)
			}
			if p.Addr().Is4() {
				v4++
			}
		}
		if v4 != n/2 {
			t.Errorf("n=%d: %d IPv4, want %d", n, v4, n/2)
		}
	}
}

func TestTallyCount(t *testing.T) {
	var tl tally
	for _, c := range []int{200, 206, 429, 403, 500} {
		tl.count(c)
	}
	if tl.ok != 2 || tl.r429 != 1 || tl.r403 != 1 || tl.other != 1 {
		t.Errorf("tally %+v", tl)
	}
}

func TestGetSendsHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Client") != "good" {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		value string
		want  int
	}{{"good", 200}, {"bad", 429}} {
		code, err := get(srv.Client(), srv.URL, "X-Client", tc.value)
		if err != nil || code != tc.want {
			t.Errorf("value %s: %d, %v; want %d", tc.value, code, err, tc.want)
		}
	}
}
