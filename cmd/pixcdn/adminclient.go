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
	envAdmin        = "PIXCDN_ADMIN"         // admin API address, e.g. http://127.0.0.1:9090
	envAdminToken   = "PIXCDN_ADMIN_TOKEN"   // its bearer token
	envControl      = "PIXCDN_CONTROL"       // control plane API address, e.g. http://127.0.0.1:7070
	envControlToken = "PIXCDN_CONTROL_TOKEN" // its bearer token
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

// adminFlags are the -admin, -control and -token flags every admin command shares: a command
// talks to one node's admin API, or with -control to the control plane (every node).
type adminFlags struct {
	addr, control, token string
	timeout              time.Duration // with -control: how long the control plane waits for the nodes
	getenv               func(string) string
}

// register adds the flags. The token's default is read from the environment only when used,
// so help never prints a secret.
func (a *adminFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	a.getenv = getenv
	fs.StringVar(&a.addr, "admin", getenv(envAdmin), "one node's admin API `URL` (default $"+envAdmin+")")
	fs.StringVar(&a.control, "control", getenv(envControl), "the control plane's API `URL`, for every node (default $"+envControl+")")
	fs.StringVar(&a.token, "token", "", "bearer `TOKEN` (default $"+envAdminToken+", with -control $"+envControlToken+")")
	fs.DurationVar(&a.timeout, "timeout", 0, "with -control: how long to wait for every node's answer (default: the control plane's, 5s for a purge, 2m for a prefetch)")
}

// timeoutQuery is the ?timeout= of a control plane call, "" for its default.
func (a *adminFlags) timeoutQuery() string {
	if a.timeout <= 0 {
		return ""
	}
	return "?timeout=" + a.timeout.String()
}

// viaControl reports whether the command goes to the control plane.
func (a *adminFlags) viaControl() bool { return a.control != "" }

// controlClient builds the control plane's client, or a usage error without an address.
func (a *adminFlags) controlClient() (*adminClient, error) {
	if a.control == "" {
		return nil, fmt.Errorf("%w: no control plane address: pass -control URL or set %s (e.g. http://127.0.0.1:7070)", errUsage, envControl)
	}
	tok := a.token
	if tok == "" && a.getenv != nil {
		tok = a.getenv(envControlToken)
	}
	c, err := newAdminClient(a.control, tok)
	if c != nil {
		c.what, c.tokenEnv = "the control plane", envControlToken
	}
	return c, err
}

// errUsage marks errors that are the caller's to fix on the command line (exit status 2).
var errUsage = errors.New("usage")

// client builds the admin client, or a usage error when no address was given.
func (a *adminFlags) client() (*adminClient, error) {
	if a.addr == "" {
		return nil, fmt.Errorf("%w: no admin API address: pass -admin URL (or -control URL for every node) or set %s (e.g. http://127.0.0.1:9090)", errUsage, envAdmin)
	}
	tok := a.token
	if tok == "" && a.getenv != nil {
		tok = a.getenv(envAdminToken)
	}
	return newAdminClient(a.addr, tok)
}

// adminClient calls one node's admin API and turns its failures into messages an operator can act on.
type adminClient struct {
	base     string // scheme://host:port, no trailing slash
	token    string
	hc       *http.Client
	what     string // "the admin API", "the control plane": for messages
	tokenEnv string // where a token would come from
}

// newAdminClient accepts "http://host:port", "https://host:port" or a bare "host:port".
func newAdminClient(addr, token string) (*adminClient, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s)://host:port address", errUsage, addr)
	}
	return &adminClient{base: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), token: token, hc: &http.Client{},
		what: "the admin API", tokenEnv: envAdminToken}, nil
}

// post sends body as JSON to path and returns the response when it is a 200; the caller
// closes its body. Any other outcome is an error that says what went wrong.
func (c *adminClient) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodPost, path, "application/json", bytes.NewReader(b))
}

// do sends one request and returns the response when it is a 200, as post does.
func (c *adminClient) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach %s at %s: %w", c.what, c.base, err)
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
			return fmt.Errorf("%s refused the token: none was given (pass -token or set %s)", c.what, c.tokenEnv)
		}
		return fmt.Errorf("%s refused the token", c.what)
	}
	var e struct {
		Error    string
		Problems []string
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	for _, p := range e.Problems {
		e.Error += "\n  " + p
	}
	return fmt.Errorf("%s at %s answered %s: %s", c.what, c.base, resp.Status, e.Error)
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
