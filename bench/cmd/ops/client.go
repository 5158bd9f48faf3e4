package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Client is one edge seen from outside: its client-facing base URL and its admin API.
type Client struct {
	Base    string // e.g. http://127.0.0.1:8080
	Admin   string // e.g. http://127.0.0.1:9090
	Token   string // admin bearer token; "" sends none
	Timeout time.Duration

	hc   *http.Client
	host string // Base's host:port, the host of purge targets
}

func (c *Client) init(conns int) error {
	u, err := url.Parse(c.Base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -url %q", c.Base)
	}
	c.host = u.Host
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	c.hc = &http.Client{Transport: tr, Timeout: c.Timeout}
	return nil
}

// Outcome is what one request's Cache-Status says about the cache.
type Outcome int

const (
	Other Outcome = iota // neither (an error status, a stale answer, no header)
	Hit                  // served from cache
	Miss                 // nothing usable was cached: fwd=miss or fwd=uri-miss
)

func (o Outcome) String() string { return [...]string{"other", "hit", "miss"}[o] }

var (
	hitRE  = regexp.MustCompile(`;\s*hit\s*(;|,|$)`)
	missRE = regexp.MustCompile(`;\s*fwd=(uri-)?miss\s*(;|,|$)`)
)

// Classify reads an RFC 9211 Cache-Status value of a single cache.
func Classify(cacheStatus string) Outcome {
	switch {
	case hitRE.MatchString(cacheStatus):
		return Hit
	case missRE.MatchString(cacheStatus):
		return Miss
	}
	return Other
}

// Get requests path and reads the whole body; it returns the outcome, the Cache-Status and
// the moment the body was read.
func (c *Client) Get(path string) (Outcome, string, time.Time, error) {
	resp, err := c.hc.Get(c.Base + path)
	if err != nil {
		return Other, "", time.Time{}, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	done := time.Now()
	if err != nil {
		return Other, "", done, fmt.Errorf("GET %s: body: %w", path, err)
	}
	cs := resp.Header.Get("Cache-Status")
	if resp.StatusCode != http.StatusOK {
		return Other, cs, done, fmt.Errorf("GET %s: status %d (%s)", path, resp.StatusCode, cs)
	}
	return Classify(cs), cs, done, nil
}

// Purge posts one purge and returns when its answer has been read.
func (c *Client) Purge(kind string, targets ...string) error {
	body, _ := json.Marshal(map[string]any{"kind": kind, "targets": targets})
	req, err := http.NewRequest(http.MethodPost, c.Admin+"/purge", bytes.NewReader(body))
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	ans, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("purge: answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("purge: %s: %s", resp.Status, bytes.TrimSpace(ans))
	}
	return nil
}

// Target is the purge target of path on this edge: host:port/path.
func (c *Client) Target(path string) string { return c.host + path }

var errNotHit = errors.New("not a hit")
