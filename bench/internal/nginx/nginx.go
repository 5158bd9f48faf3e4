// Package nginx runs the reference cache of the benchmarks: nginx as a caching reverse proxy
// (proxy_cache, proxy_cache_lock) in front of one origin, as the current user, from a
// generated config in its own directory, on a loopback port.
package nginx

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/loopback"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// Config is one proxy_cache reference.
type Config struct {
	Dir      string // its prefix: config, pid file, logs, cache and temp dirs
	Port     int    // it listens on 127.0.0.1:Port
	Upstream string // the origin, "HOST:PORT"
	Sendfile bool   // sendfile(2) for cached bodies (on: nginx's usual; off: it copies, as pixcdn does)
	User     string // "user NAME GROUP;" when nginx starts as root (which would hand its workers to nobody); "" otherwise
}

// Conf is the nginx.conf of c.
func (c Config) Conf() string {
	sendfile := "off"
	if c.Sendfile {
		sendfile = "on"
	}
	return fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[2]s
events { worker_connections 4096; }
http {
    access_log off;
    sendfile %[3]s;
    # wrk holds its 64 connections for the whole run; without this nginx closes each
    # after 1000 requests and pays reconnects pixcdn (net/http) does not.
    keepalive_requests 1000000;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    proxy_cache_path %[1]s/cache levels=1:2 keys_zone=bench:32m max_size=2g inactive=1h use_temp_path=off;
    upstream origin {
        server %[4]s;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%[5]d;
        location = /__nginx_ok { return 200 "ok\n"; }
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            proxy_cache_valid 200 10m;
            add_header X-Cache-Status $upstream_cache_status always;
        }
    }
}
`, c.Dir, c.User, sendfile, c.Upstream, c.Port)
}

// UserLine is Config.User for this process: the user and group to keep when running as root.
func UserLine() string {
	if os.Getuid() != 0 {
		return ""
	}
	u, err := user.Current()
	if err != nil {
		return "user root root;"
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return fmt.Sprintf("user %s;", u.Username)
	}
	return fmt.Sprintf("user %s %s;", u.Username, g.Name)
}

// Server is a running nginx.
type Server struct {
	URL  string // "http://127.0.0.1:PORT"
	Conf string // path of its nginx.conf
	Proc *children.Proc
}

// Start writes c's config under c.Dir and runs nginx in the foreground, its output to
// logPath; it returns once /__nginx_ok answers.
func Start(c Config, logPath string) (*Server, error) {
	for _, d := range []string{"cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(c.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(c.Conf()), 0o644); err != nil {
		return nil, err
	}
	p, err := children.StartServer("nginx", logPath, nil, Bin(), "-p", c.Dir, "-c", conf, "-g", "daemon off;")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", c.Port), Conf: conf, Proc: p}
	if err := loopback.WaitHTTP(s.URL+"/__nginx_ok", 10*time.Second, p.Exited); err != nil {
		children.Stop([]*children.Proc{p})
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("nginx: %w\n%s", err, log)
	}
	return s, nil
}

// CPU is the user+system CPU of the master and its workers so far.
func (s *Server) CPU() time.Duration { return procstat.TreeCPU(s.Proc.Pid()) }

// Bin is the nginx program: on PATH, else Debian's /usr/sbin/nginx.
func Bin() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return "/usr/sbin/nginx"
}

// Version is what `nginx -v` says, without its "nginx version: " ("nginx/1.22.1").
func Version() string {
	out, _ := exec.Command(Bin(), "-v").CombinedOutput()
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
}
