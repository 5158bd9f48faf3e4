package cluster

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// TestSignature: a signed request verifies; another secret, a changed request line or an old
// signature does not.
func TestSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := &signer{key: []byte("secret-one-0123456789"), now: func() time.Time { return now }}
	req := httptest.NewRequest("GET", "http://img.example.com/a.jpg?w=1", nil)
	s.sign(req, "node-a")
	if node, err := s.verify(req); err != nil || node != "node-a" {
		t.Fatalf("%q %v", node, err)
	}
	other := &signer{key: []byte("secret-two-0123456789"), now: s.now}
	if _, err := other.verify(req); err == nil {
		t.Fatal("verified with another secret")
	}
	tampered := req.Clone(req.Context())
	tampered.URL.RawQuery = "w=2"
	if _, err := s.verify(tampered); err == nil {
		t.Fatal("verified a changed query")
	}
	later := &signer{key: s.key, now: func() time.Time { return now.Add(6 * time.Minute) }}
	if _, err := later.verify(req); err == nil || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("a 6-minute-old signature: %v", err)
	}
	req.Header.Del(SignatureHeader)
	if _, err := s.verify(req); err == nil {
		t.Fatal("verified an unsigned request")
	}
}

// TestHotKeys: a key becomes hot above the rate and cools down once its requests stop.
func TestHotKeys(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := newHotKeys(10, func() time.Time { return now })
	for i := range 19 {
		if h.note("k") {
			t.Fatalf("hot after %d requests in one second", i+1)
		}
	}
	if !h.note("k") || !h.hot("k") {
		t.Fatal("not hot after 20 requests in one second (rate 10/s, counts halve each second)")
	}
	if h.hot("other") {
		t.Fatal("a key never asked for is hot")
	}
	now = now.Add(2 * time.Second)
	if h.hot("k") {
		t.Fatal("still hot two quiet seconds later")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Node: "a", Secret: "0123456789abcdef", PeerAddr: "127.0.0.1:1"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{Secret: "0123456789abcdef", PeerAddr: "127.0.0.1:1"},
		{Node: "a", Secret: "short", PeerAddr: "127.0.0.1:1"},
		{Node: "a", Secret: "0123456789abcdef", PeerAddr: "nope"},
		{Node: "a", Secret: "0123456789abcdef", PeerAddr: "127.0.0.1:1", Join: []string{"127.0.0.1:2"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}

// fakeLocal answers peer requests with the domain and tier it was asked for.
type fakeLocal struct{}

func (fakeLocal) ServePeer(w http.ResponseWriter, r *http.Request, domain, tier string) {
	io.WriteString(w, domain+" "+tier)
}
func (fakeLocal) Purge(p purge.Purge) (purge.Result, error) {
	return purge.Result{ID: p.ID, Applied: true}, nil
}

// TestHandler: unsigned requests are refused, a request that came through this node already
// is a loop, and a signed one reaches the node with its domain and tier.
func TestHandler(t *testing.T) {
	c, err := New(Config{Node: "n1", Secret: "0123456789abcdef", PeerAddr: "127.0.0.1:1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(c.Handler(fakeLocal{}))
	defer srv.Close()
	do := func(sign bool, via string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/a.jpg", nil)
		req.Header.Set(DomainHeader, "img.example.com")
		req.Header.Set(TierHeader, TierPeer)
		if via != "" {
			req.Header.Set("Via", via)
		}
		if sign {
			c.sign.sign(req, "n2")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(false, ""); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", code)
	}
	if code, _ := do(true, "1.1 n2, 1.1 n1"); code != http.StatusLoopDetected {
		t.Fatalf("a loop: %d", code)
	}
	if code, body := do(true, "1.1 n2"); code != 200 || body != "img.example.com peer" {
		t.Fatalf("signed: %d %q", code, body)
	}
}
