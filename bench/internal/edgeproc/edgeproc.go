// Package edgeproc runs pixcdn edges for the benchmarks: it writes an edge's YAML config (one
// domain in front of one origin, the knobs the benchmarks turn), checks it with
// `pixcdn config check`, and starts `pixcdn edge -config FILE` on loopback ports.
package edgeproc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/loopback"
)

// Config is one benchmark edge. Empty strings and nil leave pixcdn's defaults.
type Config struct {
	Listen     string // "127.0.0.1:PORT"
	Admin      string // the admin listener, "127.0.0.1:PORT"
	AdminToken string // bearer token of the admin API
	CacheDir   string
	MemorySize string // cache.memory_size, "64MiB"

	EventLoops string // server.event_loops; "" leaves the default (auto)

	AccessLog    string // log.access_log (a path), with AccessFormat
	AccessFormat string
	Metrics      *bool // log.metrics: the per-request metrics

	Domain string // the domain's name; "" is "*" (any Host)
	Origin string // its one origin server, a base URL
	Rules  []Rule // its cache rules
	// DomainYAML is appended under the domain as it is: more of its keys (an "access:" block),
	// indented by four spaces like the generated ones.
	DomainYAML string
}

// Rule is one cache rule: objects under Prefix are fresh for TTL.
type Rule struct {
	Prefix string
	TTL    string // "600s"
}

// YAML is the config file of c.
func (c Config) YAML() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("listen: %q", c.Listen)
	p("admin:")
	p("  listen: %q", c.Admin)
	if c.AdminToken != "" {
		p("  token: %q", c.AdminToken)
	}
	if c.EventLoops != "" {
		p("server:")
		p("  event_loops: %s", c.EventLoops)
	}
	if c.AccessLog != "" || c.Metrics != nil {
		p("log:")
		if c.AccessLog != "" {
			p("  access_log: %q", c.AccessLog)
			if c.AccessFormat != "" {
				p("  access_format: %s", c.AccessFormat)
			}
		}
		if c.Metrics != nil {
			p("  metrics: %t", *c.Metrics)
		}
	}
	p("cache:")
	p("  dir: %q", c.CacheDir)
	if c.MemorySize != "" {
		p("  memory_size: %s", c.MemorySize)
	}
	domain := c.Domain
	if domain == "" {
		domain = "*"
	}
	p("domains:")
	p("  - name: %q", domain)
	p("    origin:")
	p("      servers:")
	p("        - url: %q", c.Origin)
	if len(c.Rules) > 0 {
		p("    cache:")
		p("      rules:")
		for _, r := range c.Rules {
			p("        - prefix: %s", r.Prefix)
			p("          ttl: %s", r.TTL)
		}
	}
	if c.DomainYAML != "" {
		b.WriteString(strings.TrimSuffix(c.DomainYAML, "\n") + "\n")
	}
	return b.String()
}

// Write writes c's YAML to path and checks it with `bin config check`; the error holds what
// the check printed.
func Write(bin, path string, c Config) error {
	if err := os.WriteFile(path, []byte(c.YAML()), 0o644); err != nil {
		return err
	}
	return Check(bin, path)
}

// Check runs `bin config check path`.
func Check(bin, path string) error {
	out, err := exec.Command(bin, "config", "check", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pixcdn config check %s: %v: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Edge is a running `pixcdn edge`.
type Edge struct {
	URL    string // "http://127.0.0.1:PORT"
	Admin  string // the admin listener's base URL
	Config string // its config file (replace it and send SIGHUP to reload)
	Log    string // its log file
	Proc   *children.Proc
}

// Start runs `bin edge -config cfgPath` (the file written for c) with GOMAXPROCS=gomaxprocs
// (0: the runtime's default), its output to logPath, and returns once the admin /healthz
// answers.
func Start(bin, cfgPath, logPath string, c Config, gomaxprocs int) (*Edge, error) {
	var env []string
	if gomaxprocs > 0 {
		env = []string{"GOMAXPROCS=" + strconv.Itoa(gomaxprocs)}
	}
	p, err := children.StartServer("pixcdn edge", logPath, env, bin, "edge", "-config", cfgPath)
	if err != nil {
		return nil, err
	}
	e := &Edge{URL: "http://" + c.Listen, Admin: "http://" + c.Admin, Config: cfgPath, Log: logPath, Proc: p}
	if err := loopback.WaitHTTP(e.Admin+"/healthz", 10*time.Second, p.Exited); err != nil {
		children.Stop([]*children.Proc{p})
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("pixcdn edge: %w\n%s", err, tail(log, 2000))
	}
	return e, nil
}

// Ports fills c.Listen and c.Admin with free loopback addresses.
func (c *Config) Ports() error {
	var err error
	if c.Listen, err = loopback.Addr(); err != nil {
		return err
	}
	c.Admin, err = loopback.Addr()
	return err
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
