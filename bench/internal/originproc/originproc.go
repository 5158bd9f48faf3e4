// Package originproc starts the benchmarks' origin, bench/cmd/benchorigin, on a free loopback
// port and reads its request counter (/__count), by which every run proves how many requests
// the caches in front of it let through.
package originproc

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/loopback"
)

// Origin is a running benchorigin.
type Origin struct {
	URL  string // base URL, "http://127.0.0.1:PORT"
	Addr string // "127.0.0.1:PORT"
	Proc *children.Proc
}

// Start runs bin (a built benchorigin) with args (-delay, -files, ...), its output to logPath,
// and waits until it answers.
func Start(bin, logPath string, args ...string) (*Origin, error) {
	dir, err := os.MkdirTemp("", "benchorigin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	addrFile := filepath.Join(dir, "addr")
	args = append([]string{"-listen", "127.0.0.1:0", "-addr-file", addrFile}, args...)
	p, err := children.StartServer("benchorigin", logPath, nil, bin, args...)
	if err != nil {
		return nil, err
	}
	o := &Origin{Proc: p}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(addrFile)
		if a := strings.TrimSpace(string(data)); a != "" {
			o.Addr, o.URL = a, "http://"+a
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			children.Stop([]*children.Proc{p})
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("benchorigin did not start: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := loopback.WaitHTTP(o.URL+"/__count", 10*time.Second, p.Exited); err != nil {
		children.Stop([]*children.Proc{p})
		return nil, err
	}
	return o, nil
}

// Count is the number of requests the origin has seen for path, "" for every path.
func (o *Origin) Count(path string) (int64, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(o.URL + "/__count?path=" + url.QueryEscape(path))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("origin /__count: %s %v", resp.Status, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
}
