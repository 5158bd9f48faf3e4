package cluster_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A 103 Early Hints from the origin reaches the client through a parent tier: each node relays
// it to the one that asked while it waits for the answer.
func TestEarlyHintsThroughTheParent(t *testing.T) {
	const link = "</hero.jpg>; rel=preload; as=image"
	o := newOrigin(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", link)
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "<html>page</html>")
	})
	parent := startNode(t, "parent", o.srv.URL, nodeOpts{})
	child := startNode(t, "child", o.srv.URL, nodeOpts{Parents: []string{parent.Peer.URL}})
	var mu sync.Mutex
	var hints [][]string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		if code == http.StatusEarlyHints {
			hints = append(hints, h["Link"])
		}
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, child.URL()+"/page.html", nil)
	req.Host = "img.example.com"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	cs := resp.Header.Get("Cache-Status")
	if resp.StatusCode != 200 || len(hints) != 1 || !slices.Equal(hints[0], []string{link}) || !strings.Contains(cs, "parent;") {
		t.Fatalf("%d, 103s %q, Cache-Status %q: want the origin's 103 relayed through the parent", resp.StatusCode, hints, cs)
	}
}
