package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/demo"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// TestDemoCDN runs the whole-CDN demo on ephemeral ports: the router sends a client to a node
// of its POP, the node fills through its POP's owner and the parent, a purge through the control
// plane is acknowledged by all five nodes, and stopping the demo stops everything.
func TestDemoCDN(t *testing.T) {
	dir := t.TempDir()
	var errb syncBuffer // the nodes log from many goroutines
	d := &demoCDN{host: "127.0.0.1", dir: dir, siteDir: dir + "/site", token: purge.NewID(), secret: purge.NewID(),
		stdout: &errb, stderr: &errb, nodeLogs: &errb}
	if err := demo.WriteSite(d.siteDir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *demoCDN, 1)
	done := make(chan int, 1)
	go func() { done <- d.run(ctx, func(d *demoCDN) { ready <- d }) }()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("demo exited with %d: %s", code, errb.String())
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not start")
	}
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited with %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	}()
	entry := "http://" + d.rt.Addr("http")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	head := func(c *http.Client, url string, xff string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := head(noFollow, entry+"/style.css", ""); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("X-Pixcdn-Route"), "pop=pop-a") {
		t.Fatalf("router: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := head(noFollow, entry+"/style.css", "198.51.100.7"); !strings.Contains(resp.Header.Get("X-Pixcdn-Route"), "pop=pop-b") {
		t.Fatalf("pop-b client: %v", resp.Header)
	}
	// Followed: a node of pop-a answers, filled through the parent.
	resp := head(http.DefaultClient, entry+"/"+demo.Images[3].Name, "")
	if cs := resp.Header.Get("Cache-Status"); resp.StatusCode != 200 || !strings.HasPrefix(cs, "demo-parent; fwd=") || !strings.Contains(cs, "demo-a") {
		t.Fatalf("through the CDN: %d %q", resp.StatusCode, cs)
	}
	if resp := head(http.DefaultClient, entry+"/"+demo.Images[3].Name+"?w=100", ""); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("a variant: %d %v", resp.StatusCode, resp.Header)
	}
	code, out, errs := ctlAt(t, "http://"+d.ctl.Addr(), d.token, "purge", "any/style.css")
	if code != 0 || !strings.Contains(out, "on 5 node(s)") {
		t.Fatalf("purge: %d %q %q", code, out, errs)
	}
}

// ctlAt runs a pixcdn command against the control plane at url.
func ctlAt(t *testing.T, url, token string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(append([]string{args[0], "-control", url, "-token", token}, args[1:]...), &out, &errb)
	return code, out.String(), errb.String()
}
