package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environment variables the admin commands read their defaults from.
const (
	envAdmin      = "PIXCDN_ADMIN"       // admin API address, e.g. http://127.0.0.1:9090
	envAdminToken = "PIXCDN_ADMIN_TOKEN" // bearer token
)

// cliIO is what an admin command touches outside its arguments, so tests can supply their own.
type cliIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

func osIO(stdout, stderr io.Writer) cliIO {
	return cliIO{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
}

// adminFlags are the -admin and -token flags every admin command shares.
type adminFlags struct{ addr, token string }

func (a *adminFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&a.addr, "admin", getenv(envAdmin), "admin API `URL` (default $"+envAdmin+")")
	fs.StringVar(&a.token, "token", getenv(envAdminToken), "bearer `TOKEN` (default $"+envAdminToken+")")
}

// errUsage marks errors that are the caller's to fix on the command line (exit status 2).
var errUsage = errors.New("usage")

// client builds the admin client, or a usage error when no address was given.
func (a *adminFlags) client() (*adminClient, error) {
	if a.addr == "" {
		return nil, fmt.Errorf("%w: no admin API address: pass -admin URL or set %s (e.g. http://127.0.0.1:9090)", errUsage, envAdmin)
	}
	return newAdminClient(a.addr, a.token)
}

// adminClient calls one node's admin API and turns its failures into messages an operator can act on.
type adminClient struct {
	base  string // scheme://host:port, no trailing slash
	token string
	hc    *http.Client
}

// newAdminClient accepts "http://host:port", "https://host:port" or a bare "host:port".
func newAdminClient(addr, token string) (*adminClient, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: -admin %q is not an http(s)://host:port address", errUsage, addr)
	}
	return &adminClient{base: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), token: token, hc: &http.Client{}}, nil
}

// post sends body as JSON to path and returns the response when it is a 200; the caller
// closes its body. Any other outcome is an error that says what went wrong.
func (c *adminClient) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the admin API at %s: %w", c.base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, c.statusError(resp)
}

func (c *adminClient) statusError(resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		if c.token == "" {
			return fmt.Errorf("the admin API refused the token: none was given (pass -token or set %s)", envAdminToken)
		}
		return errors.New("the admin API refused the token")
	}
	var e struct{ Error string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	return fmt.Errorf("the admin API at %s answered %s: %s", c.base, resp.Status, e.Error)
}

// exitCode reports err on stderr and maps it to the exit status: 2 for usage, 1 otherwise.
func exitCode(stderr io.Writer, cmd string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "pixcdn %s: %v\n", cmd, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}
