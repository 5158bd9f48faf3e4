package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/admin/admintest"
	"github.com/pixcdn/pixcdn/internal/purge"
)

func TestPurge(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		err        string // "" = accepted
		want       purge.Purge
	}{
		{name: "url", body: `{"kind":"url","targets":["https://img.example.com/a.jpg","img.example.com/b.jpg"]}`,
			want: purge.Purge{Kind: "url", Targets: []string{"https://img.example.com/a.jpg", "img.example.com/b.jpg"}}},
		{name: "soft prefix", body: `{"kind":"prefix","targets":["img.example.com/avatars/"],"soft":true}`,
			want: purge.Purge{Kind: "prefix", Targets: []string{"img.example.com/avatars/"}, Soft: true}},
		{name: "tag in a domain", body: `{"kind":"tag","targets":["product-42"],"domain":"img.example.com"}`,
			want: purge.Purge{Kind: "tag", Targets: []string{"product-42"}, Domain: "img.example.com"}},
		{name: "domain", body: `{"kind":"domain","targets":["img.example.com"]}`,
			want: purge.Purge{Kind: "domain", Targets: []string{"img.example.com"}}},
		{name: "bad json", body: `{"kind":"url",`, err: "bad JSON body"},
		{name: "not an object", body: `["a"]`, err: "bad JSON body"},
		{name: "unknown field", body: `{"kind":"url","target":["a"]}`, err: `unknown field "target"`},
		{name: "trailing data", body: `{"kind":"url","targets":["a"]} {}`, err: "data after the object"},
		{name: "no kind", body: `{"targets":["a"]}`, err: "kind is missing"},
		{name: "bad kind", body: `{"kind":"everything","targets":["a"]}`, err: `unknown kind "everything"`},
		{name: "no targets", body: `{"kind":"url"}`, err: "no targets"},
		{name: "empty targets", body: `{"kind":"url","targets":[]}`, err: "no targets"},
		{name: "blank target", body: `{"kind":"url","targets":["a"," "]}`, err: "targets[1] is empty"},
		{name: "domain on url", body: `{"kind":"url","targets":["a"],"domain":"x"}`, err: "tag purges only"},
		{name: "edge refuses", body: `{"kind":"url","targets":["img.example.com/a b"]}`, err: `bad url target "img.example.com/a b"`},
		{name: "empty body", body: ``, err: "bad JSON body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &admintest.Edge{}
			_, base := start(t, admin.Config{}, e)
			code, _, body := call(t, "POST", base+"/purge", "", tc.body)
			if tc.err != "" {
				if msg := jsonError(t, body); code != 400 || !strings.Contains(msg, tc.err) {
					t.Fatalf("%d %q, want 400 with %q", code, msg, tc.err)
				}
				if len(e.Purges()) != 0 {
					t.Fatalf("refused purge reached the edge: %v", e.Purges())
				}
				return
			}
			var res purge.Result
			if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil {
				t.Fatalf("%d %q %v", code, body, err)
			}
			got := e.Purges()
			if len(got) != 1 || got[0].ID == "" || got[0].Issued.IsZero() {
				t.Fatalf("edge got %+v: want one purge with an ID and an issue time", got)
			}
			want := purge.Result{ID: got[0].ID, Node: "fake", Kind: tc.want.Kind, Targets: len(tc.want.Targets), Soft: tc.want.Soft,
				Issued: got[0].Issued, Applied: true, BanVersion: 1}
			if tc.want.Kind == purge.URL { // the fake holds none of them
				want.Cached = make([]bool, len(tc.want.Targets))
			}
			if !res.Issued.Equal(want.Issued) {
				t.Errorf("result issued %v, want %v", res.Issued, want.Issued)
			}
			res.Issued = want.Issued
			if !reflect.DeepEqual(res, want) {
				t.Errorf("result %+v, want %+v", res, want)
			}
			p := got[0]
			p.ID, p.Issued = "", time.Time{}
			if !reflect.DeepEqual(p, tc.want) {
				t.Errorf("edge got %+v, want %+v", p, tc.want)
			}
		})
	}
}

// TestPurgeIDAndIssueTime: a purge's own ID and issue time reach the edge unchanged, and the
// same ID sent again is reported as already applied.
func TestPurgeIDAndIssueTime(t *testing.T) {
	e := &admintest.Edge{}
	_, base := start(t, admin.Config{}, e)
	body := `{"id":"p-1","issued":"2026-11-22T07:59:00Z","kind":"url","targets":["img.example.com/a.jpg"]}`
	for i, applied := range []bool{true, false} {
		code, _, resp := call(t, "POST", base+"/purge", "", body)
		var res purge.Result
		if err := json.Unmarshal([]byte(resp), &res); code != 200 || err != nil {
			t.Fatalf("%d %q %v", code, resp, err)
		}
		if res.ID != "p-1" || res.Applied != applied || !res.Issued.Equal(time.Date(2026, 11, 22, 7, 59, 0, 0, time.UTC)) {
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	if got := e.Purges(); len(got) != 1 {
		t.Fatalf("edge applied %d purges, want 1", len(got))
	}
	code, _, resp := call(t, "POST", base+"/purge", "", `{"id":"has space","kind":"url","targets":["a"]}`)
	if msg := jsonError(t, resp); code != 400 || !strings.Contains(msg, "id") {
		t.Fatalf("%d %q", code, msg)
	}
}

func TestPurgeBodyLimit(t *testing.T) {
	_, base := start(t, admin.Config{MaxBodyBytes: 64}, &admintest.Edge{})
	body := `{"kind":"url","targets":["` + strings.Repeat("a", 100) + `"]}`
	code, _, resp := call(t, "POST", base+"/purge", "", body)
	if msg := jsonError(t, resp); code != 400 || !strings.Contains(msg, "larger than 64 bytes") {
		t.Errorf("%d %q", code, msg)
	}
}

// FuzzPurgeBody: whatever the body, the answer is 200 with a result or 400 with a JSON error,
// and only a valid request reaches the edge.
func FuzzPurgeBody(f *testing.F) {
	f.Add(`{"kind":"url","targets":["img.example.com/a.jpg"]}`)
	f.Add(`{"kind":"tag","targets":["t"],"domain":"d","soft":true}`)
	f.Add(`{"kind":"prefix","targets":[""]}`)
	f.Add(`{"kind":1}`)
	f.Add(`{}{}`)
	f.Fuzz(func(t *testing.T, body string) {
		e := &admintest.Edge{}
		h := adminHandler(t, e)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/purge", strings.NewReader(body)))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %q", rec.Body.String())
		}
		switch rec.Code {
		case 200:
			if len(e.Purges()) != 1 || e.Purges()[0].Validate() != nil {
				t.Fatalf("accepted %q: %v", body, e.Purges())
			}
		case 400:
			if out["error"] == nil || len(e.Purges()) != 0 {
				t.Fatalf("refused %q: %v %v", body, out, e.Purges())
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// adminHandler returns the admin API's handler without a listener, for fuzzing.
func adminHandler(t testing.TB, e admin.Edge) http.Handler {
	h, err := admin.NewHandler(admin.Config{Now: func() time.Time { return admintest.FixedTime }}, e)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
