package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/admin/admintest"
	"github.com/pixcdn/pixcdn/internal/purge"
)

const testToken = "t0ken"

// startAdmin serves a real admin API for e on 127.0.0.1:0 until the test ends.
func startAdmin(t *testing.T, token string, e *admintest.Edge) string {
	t.Helper()
	s, err := admin.New(admin.Config{Listen: "127.0.0.1:0", Token: token, PrefetchConcurrency: 4}, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "http://" + s.Addr()
}

// testIO returns command I/O with the given stdin and environment and a clock that advances
// 50 ms each time it is read.
func testIO(stdin string, env map[string]string) (cliIO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	ticks := 0
	return cliIO{
		stdin:  strings.NewReader(stdin),
		stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] },
		now:    func() time.Time { ticks++; return t0.Add(time.Duration(ticks) * 50 * time.Millisecond) },
	}, &out, &errb
}

// closedAddr is the URL of a port nothing listens on any more.
func closedAddr(t *testing.T) string {
	s, err := admin.New(admin.Config{Listen: "127.0.0.1:0"}, &admintest.Edge{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return "http://" + s.Addr()
}

func TestAdminClientErrors(t *testing.T) {
	base := startAdmin(t, testToken, &admintest.Edge{})
	dead := closedAddr(t)
	for _, tc := range []struct {
		name, addr, token string
		want              string
	}{
		// Refused, or reset when another test's listener took the freed port meanwhile.
		{"refused connection", dead, testToken, "cannot reach the admin API at " + dead + ": "},
		{"wrong token", base, "nope", "the admin API refused the token"},
		{"no token", base, "", "none was given (pass -token or set PIXCDN_ADMIN_TOKEN)"},
		{"bad request", base, testToken, `answered 400 Bad Request: purge: unknown kind "x"`},
	} {
		c, err := newAdminClient(tc.addr, tc.token)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.post(context.Background(), "/purge", purge.Purge{Kind: "x", Targets: []string{"a"}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAdminAddress(t *testing.T) {
	for _, tc := range []struct{ in, base, err string }{
		{"127.0.0.1:9090", "http://127.0.0.1:9090", ""},
		{"http://127.0.0.1:9090/", "http://127.0.0.1:9090", ""},
		{"https://edge1.example.net:9443", "https://edge1.example.net:9443", ""},
		{"ftp://x:1", "", "not an http(s)://host:port"},
		{"http://", "", "not an http(s)://host:port"},
	} {
		c, err := newAdminClient(tc.in, "")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v", tc.in, err)
			}
			continue
		}
		if err != nil || c.base != tc.base {
			t.Errorf("%q: %v %+v", tc.in, err, c)
		}
	}
}
