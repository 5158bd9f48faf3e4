package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/pixcdn/pixcdn/internal/control"
)

const apiToken = "control-bench-token"

// plane is one control plane (in this process) with its edges (processes) and their origin.
type plane struct {
	srv    *control.Server
	api    *apiClient
	origin *httptest.Server
	edges  []*proc
	logf   *os.File
}

// domainsDoc is the document every node serves; variant alternates it for config pushes (a
// real change each time: the edges build and swap a different configuration).
func domainsDoc(origin string, variant int) []byte {
	doc := fmt.Sprintf("domains:\n  - name: img.test\n    origin:\n      servers: [{url: %q}]\n", origin)
	if variant%2 == 1 {
		doc += "    compress: {enabled: false}\n"
	}
	return []byte(doc)
}

// startPlane starts a control plane with a fresh data directory, stores the first version,
// starts n edges and waits until the control plane lists all n live and running it.
func startPlane(work, bin string, n int) (*plane, error) {
	dir := filepath.Join(work, fmt.Sprintf("plane-%d-%d", n, time.Now().UnixNano()))
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	p := &plane{}
	var err error
	if p.logf, err = os.Create(filepath.Join(dir, "logs", "control.log")); err != nil {
		return nil, err
	}
	p.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, "an image")
	}))
	// The logger `pixcdn control` has (text, info: one line per purge), to a file.
	p.srv, err = control.Start(control.Config{Listen: "127.0.0.1:0", Token: apiToken, DataDir: filepath.Join(dir, "data"),
		NATSListen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(p.logf, nil))})
	if err != nil {
		p.close()
		return nil, err
	}
	p.api = newAPIClient("http://"+p.srv.Addr(), 64)
	rev, err := p.srv.Push(context.Background(), domainsDoc(p.origin.URL, 0), "bench", "first")
	if err != nil {
		p.close()
		return nil, err
	}
	if err := p.startEdges(bin, dir, n); err != nil {
		p.close()
		return nil, err
	}
	if err := p.waitLive(n, rev, 30*time.Second+time.Duration(n)*time.Second); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *plane) startEdges(bin, dir string, n int) error {
	for i := range n {
		name := fmt.Sprintf("e%03d", i)
		args := []string{"edge", "-nats", p.srv.NATSURL(), "-node-name", name, "-pop", fmt.Sprintf("p%d", i/10), "-listen", "127.0.0.1:0"}
		if *edgeDisk {
			args = append(args, "-cache-dir", filepath.Join(dir, "cache-"+name))
		}
		e, err := startProc(name, bin, filepath.Join(dir, "logs", name+".log"), args...)
		if err != nil {
			return err
		}
		p.edges = append(p.edges, e)
	}
	return nil
}

// waitLive waits until n nodes are live and serve version rev or newer (a poll of the
// control plane's own view: this is a benchmark's set-up, not a test).
func (p *plane) waitLive(n int, rev uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		live := 0
		for _, nv := range p.srv.Nodes() {
			if nv.Live && nv.Version >= rev {
				live++
			}
		}
		if live == n {
			return nil
		}
		for _, e := range p.edges {
			if e.Exited() {
				return fmt.Errorf("edge %s exited during start: see %s", e.Name, e.Log.Name())
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d edges live after %v", live, n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close stops the edges (SIGTERM, then SIGKILL), then the control plane.
func (p *plane) close() {
	stopProcs(p.edges)
	if p.srv != nil {
		p.srv.Close()
	}
	if p.origin != nil {
		p.origin.Close()
	}
	if p.logf != nil {
		p.logf.Close()
	}
}

// apiClient calls the control plane's API with the bearer token.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	return &apiClient{base: base, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns}}}
}

// post sends body to path and decodes a 200 answer into out; took is the round trip.
func (a *apiClient) post(path, ctype string, body []byte, out any) (took time.Duration, err error) {
	req, err := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	took = time.Since(start)
	if err != nil {
		return took, err
	}
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	return took, json.Unmarshal(data, out)
}
