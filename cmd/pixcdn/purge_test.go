package main

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin/admintest"
	"github.com/pixcdn/pixcdn/internal/purge"
)

func TestPurgeKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want purge.Purge
		out  string
	}{
		{"urls", []string{"https://img.example.com/a.jpg", "img.example.com/b.jpg"},
			purge.Purge{Kind: "url", Targets: []string{"https://img.example.com/a.jpg", "img.example.com/b.jpg"}},
			"purged 2 URLs (hard: deleted) at 2026-11-22T08:00:00Z\n  https://img.example.com/a.jpg: deleted on fake\n  img.example.com/b.jpg: not cached\n"},
		{"soft prefix", []string{"-soft", "-prefix", "img.example.com/avatars/"},
			purge.Purge{Kind: "prefix", Targets: []string{"img.example.com/avatars/"}, Soft: true},
			"purged 1 prefix (soft: marked stale) at 2026-11-22T08:00:00Z\n  img.example.com/avatars/\n(objects it covers are revalidated as they are next requested; they are not counted)\n"},
		{"tags within a domain", []string{"-tag", "-within", "img.example.com", "product-42", "sale"},
			purge.Purge{Kind: "tag", Targets: []string{"product-42", "sale"}, Domain: "img.example.com"},
			"purged 2 tags in img.example.com (hard: deleted) at 2026-11-22T08:00:00Z\n  product-42\n  sale\n(objects it covers become misses as they are next requested; they are not counted)\n"},
		{"domain", []string{"-domain", "img.example.com"},
			purge.Purge{Kind: "domain", Targets: []string{"img.example.com"}},
			"purged 1 domain (hard: deleted) at 2026-11-22T08:00:00Z\n  img.example.com\n(objects it covers become misses as they are next requested; they are not counted)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &admintest.Edge{Cached: map[string]bool{"https://img.example.com/a.jpg": true}}
			base := startAdmin(t, testToken, e)
			cio, out, errb := testIO("", nil)
			args := append([]string{"-admin", base, "-token", testToken}, tc.args...)
			if code := purgeCommand(context.Background(), args, cio); code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			got := e.Purges()
			if len(got) != 1 || got[0].ID == "" {
				t.Fatalf("edge got %+v: want one purge with an ID", got)
			}
			tc.want.ID, tc.want.Issued = got[0].ID, got[0].Issued // the CLI's ID, the node's clock
			if !reflect.DeepEqual(got[0], tc.want) || got[0].Issued.IsZero() {
				t.Errorf("edge got %+v, want %+v", got, tc.want)
			}
			tc.out = strings.Replace(tc.out, "2026-11-22T08:00:00Z", got[0].Issued.UTC().Format(time.RFC3339Nano), 1)
			if out.String() != tc.out {
				t.Errorf("output %q, want %q", out, tc.out)
			}
		})
	}
}

func TestPurgeErrors(t *testing.T) {
	e := &admintest.Edge{}
	base := startAdmin(t, testToken, e)
	dead := closedAddr(t)
	env := map[string]string{envAdmin: base, envAdminToken: testToken}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"two kinds", env, []string{"-tag", "-prefix", "x"}, 2, "choose one of -prefix, -tag and -domain"},
		{"no targets", env, []string{"-soft"}, 2, "nothing to purge"},
		{"within without tag", env, []string{"-within", "d", "x"}, 2, "-within applies to -tag purges only"},
		{"unknown flag", env, []string{"-hard", "x"}, 2, "flag provided but not defined: -hard"},
		{"no address", nil, []string{"img.example.com/a.jpg"}, 2, "pass -admin URL (or -control URL for every node) or set PIXCDN_ADMIN"},
		{"refused connection", nil, []string{"-admin", dead, "x"}, 1, "cannot reach the admin API at " + dead},
		{"wrong token", env, []string{"-token", "nope", "x"}, 1, "pixcdn purge: the admin API refused the token\n"},
		{"edge refuses target", env, []string{"img.example.com/a b"}, 1, `bad url target "img.example.com/a b"`},
	} {
		cio, out, errb := testIO("", tc.env)
		code := purgeCommand(context.Background(), tc.args, cio)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%s: exit %d stderr %q stdout %q, want %d with %q", tc.name, code, errb, out, tc.code, tc.want)
		}
	}
	if len(e.Purges()) != 0 {
		t.Errorf("failed commands purged: %v", e.Purges())
	}
	cio, _, errb := testIO("", nil)
	if code := purgeCommand(context.Background(), []string{"-h"}, cio); code != 0 || !strings.Contains(errb.String(), "usage: pixcdn purge") {
		t.Errorf("-h: %d %q", code, errb)
	}
}

// TestPurgeEnvironment runs the real entry point with the address and token from the environment.
func TestPurgeEnvironment(t *testing.T) {
	e := &admintest.Edge{}
	base := startAdmin(t, testToken, e)
	t.Setenv(envAdmin, strings.TrimPrefix(base, "http://"))
	t.Setenv(envAdminToken, testToken)
	cio, out, errb := testIO("", nil)
	if code := cmdPurge([]string{"-soft", "img.example.com/a.jpg"}, cio.stdout, cio.stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.HasPrefix(out.String(), "purged 1 URL (soft") || len(e.Purges()) != 1 {
		t.Errorf("%q %v", out, e.Purges())
	}
	t.Setenv(envAdminToken, "stale")
	if code := cmdPurge([]string{"-token", testToken, "x"}, cio.stdout, cio.stderr); code != 0 {
		t.Errorf("-token did not override the environment: %d %s", code, errb)
	}
}
