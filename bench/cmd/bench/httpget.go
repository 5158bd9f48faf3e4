package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// client is the harness's own HTTP client: no transparent gzip (curl sends no Accept-Encoding
// either, and the text section's identity requests must stay identity), no redirects.
var client = &http.Client{
	Timeout:       60 * time.Second,
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get is one GET with headers ("Name: value"); the body is read to the end and returned.
func get(url string, headers ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "pixcdn-bench")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustGet is get that fails the run on an error or a status that is not 2xx.
func mustGet(url string, headers ...string) (*http.Response, []byte) {
	resp, body, err := get(url, headers...)
	must(err)
	if resp.StatusCode/100 != 2 {
		fail("GET %s: %s", url, resp.Status)
	}
	return resp, body
}

// mustGetFollow is mustGet that follows redirects.
func mustGetFollow(url string) (*http.Response, []byte) {
	c := *client
	c.CheckRedirect = nil
	resp, err := c.Get(url)
	must(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(err)
	if resp.StatusCode/100 != 2 {
		fail("GET %s: %s", url, resp.Status)
	}
	return resp, body
}

// status is the status code of one GET, 0 on a transport error.
func status(url string, headers ...string) int {
	resp, _, err := get(url, headers...)
	if err != nil {
		return 0
	}
	return resp.StatusCode
}

// headerLines are the response's header fields named (canonical names), "Name: value" each.
func headerLines(resp *http.Response, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, v := range resp.Header.Values(n) {
			out = append(out, http.CanonicalHeaderKey(n)+": "+v)
		}
	}
	return out
}

// dumpHeaders writes the status line and every header of resp to path.
func dumpHeaders(resp *http.Response, path string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
}
