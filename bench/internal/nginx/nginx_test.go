package nginx

import (
	"strings"
	"testing"
)

func TestConf(t *testing.T) {
	c := Config{Dir: "/tmp/ng", Port: 12345, Upstream: "127.0.0.1:999", Sendfile: false, User: "user u g;"}
	conf := c.Conf()
	for _, want := range []string{
		"pid /tmp/ng/nginx.pid;", "\nuser u g;\n", "sendfile off;", "keepalive_requests 1000000;",
		"proxy_cache_path /tmp/ng/cache levels=1:2 keys_zone=bench:32m", "server 127.0.0.1:999;",
		"listen 127.0.0.1:12345;", "proxy_cache_lock on;", "add_header X-Cache-Status $upstream_cache_status always;",
		`location = /__nginx_ok { return 200 "ok\n"; }`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "%!") {
		t.Errorf("formatting error in conf:\n%s", conf)
	}
	if c.Sendfile = true; !strings.Contains(c.Conf(), "sendfile on;") {
		t.Error("Sendfile true does not give sendfile on")
	}
	if strings.Count(conf, "{") != strings.Count(conf, "}") {
		t.Error("unbalanced braces")
	}
}
