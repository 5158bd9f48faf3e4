package control

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func startTest(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Config{Listen: "127.0.0.1:0", Token: "tok", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func call(t *testing.T, s *Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	s := startTest(t)
	doc := "domains:\n  - name: a.example.com\n    origin: {servers: [{url: \"http://o\"}]}\n"
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		want                      string
	}{
		{"GET", "/healthz", "", "", 200, "ok"},
		{"GET", "/readyz", "", "", 200, "nodes_live 0"},
		{"GET", "/api/nodes", "", "", 401, "unauthorized"},
		{"GET", "/api/nodes", "wrong", "", 401, "unauthorized"},
		{"GET", "/api/nope", "", "", 401, "unauthorized"}, // no path is told to a stranger
		{"GET", "/api/nope", "tok", "", 404, "no endpoint"},
		{"GET", "/api/config", "tok", "", 404, "no such version"},
		{"GET", "/api/config/history", "tok", "", 200, `"versions": []`},
		{"POST", "/api/config?file=d.yaml", "tok", "domains: [{name: a.example.com}]\n", 400, "d.yaml:1: domains[0].origin"},
		{"POST", "/api/config?wait=forever", "tok", doc, 400, "want a duration"},
		{"POST", "/api/config?message=first", "tok", doc, 200, `"version": 1`},
		{"GET", "/api/config?format=yaml", "tok", "", 200, "a.example.com"},
		{"GET", "/api/config/versions/x", "tok", "", 400, "positive number"},
		{"GET", "/api/config/versions/9", "tok", "", 404, "no such version"},
		{"POST", "/api/config/rollback", "tok", `{"version": 9}`, 404, "no such version"},
		{"POST", "/api/config/rollback", "tok", `{"version": 1}`, 200, `"version": 2`},
		{"POST", "/api/config/rollback", "tok", `{"versoin": 1}`, 400, "unknown field"},
		{"POST", "/api/purge", "tok", `{"targets": ["a"]}`, 400, "kind is missing"},
		{"POST", "/api/purge", "tok", `{"kind": "url", "targets": [" "]}`, 400, "targets[0] is empty"},
		{"POST", "/api/purge", "tok", `{"kind": "url", "targets": ["a.example.com/x"], "id": "p1"}`, 200, `"complete": true`},
		{"GET", "/api/purge/p1", "tok", "", 200, `"seq": 1`},
		{"GET", "/api/purge/p2", "tok", "", 404, "no recent purge"},
		{"POST", "/api/prefetch", "tok", `{"urls": []}`, 400, "no urls"},
		{"GET", "/api/stats", "tok", "", 200, `"nodes"`},
	} {
		status, body := call(t, s, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
	// The same purge ID again is the same purge: the stream keeps it once.
	_, body := call(t, s, "POST", "/api/purge", "tok", `{"kind": "url", "targets": ["a.example.com/x"], "id": "p1"}`)
	var a PurgeAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.Seq != 1 {
		t.Fatalf("repeated purge: %v %s", err, body)
	}
	h, err := s.History(t.Context())
	if err != nil || len(h) != 2 || !h[0].Current || h[0].RollbackOf != 1 || h[1].Message != "first" {
		t.Fatalf("history: %v %+v", err, h)
	}
}

func TestEmbeddedRefusesOpenListenerWithoutToken(t *testing.T) {
	if _, err := StartEmbedded(EmbeddedConfig{Listen: "0.0.0.0:0", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no NATS token") {
		t.Fatalf("%v", err)
	}
	if _, err := Start(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("no API token: %v", err)
	}
}
