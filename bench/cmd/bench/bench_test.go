package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestKnobsFromEnvironment(t *testing.T) {
	t.Setenv("BENCH_DURATION", "3s")
	t.Setenv("BENCH_ROUNDS", "1")
	t.Setenv("BENCH_NGINX_SENDFILE", "off")
	t.Setenv("BENCH_OPS_PARTS", "purge")
	var k knobs
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	if err := k.register(fs); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-rounds", "3"}); err != nil {
		t.Fatal(err)
	}
	if k.duration != 3*time.Second || k.rounds != 3 || k.sendfile || k.opsParts != "purge" || k.herdClients != 200 {
		t.Errorf("knobs %+v", k)
	}
}

func TestKnobsBadEnvironment(t *testing.T) {
	for _, kv := range [][2]string{{"BENCH_DURATION", "15"}, {"BENCH_ROUNDS", "two"}, {"BENCH_NGINX_SENDFILE", "yes"}} {
		t.Run(kv[0], func(t *testing.T) {
			t.Setenv(kv[0], kv[1])
			var k knobs
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			if err := k.register(fs); err == nil {
				t.Errorf("%s=%s accepted", kv[0], kv[1])
			}
		})
	}
}

func TestParts(t *testing.T) {
	got, err := parts("log, reload", "log", "purge", "reload")
	if err != nil || !got["log"] || !got["reload"] || got["purge"] {
		t.Errorf("parts: %v, %v", got, err)
	}
	if _, err := parts("log,prune", "log", "purge"); err == nil {
		t.Error("unknown part accepted")
	}
}

func TestIsHit(t *testing.T) {
	tests := []struct {
		server  string
		cs, xcs []string
		want    bool
	}{
		{"pixcdn", []string{"pixcdn; hit; ttl=3599"}, nil, true},
		{"pixcdn-log-on", []string{"pixcdn; hit"}, nil, true},
		{"pixcdn", []string{"pixcdn; fwd=miss; stored"}, nil, false},
		{"pixcdn", []string{"pixcdn; hitch"}, nil, false},
		{"nginx", nil, []string{"HIT"}, true},
		{"nginx", nil, []string{"MISS"}, false},
	}
	for _, tt := range tests {
		if got := isHit(tt.server, tt.cs, tt.xcs); got != tt.want {
			t.Errorf("isHit(%s, %q, %q) = %v", tt.server, tt.cs, tt.xcs, got)
		}
	}
}

func TestWrkSecs(t *testing.T) {
	for d, want := range map[time.Duration]string{3 * time.Second: "3s", 90 * time.Second: "90s", 200 * time.Millisecond: "1s"} {
		if got := secs(d); got != want {
			t.Errorf("secs(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 4096: "4.0K", 30 << 20: "30M", 1536 << 20: "1.5G"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestPerfSymbolShare(t *testing.T) {
	rep := `# Children      Self  Symbol
# ........  ........  ......
#
    31.73%     0.52%  [.] github.com/pixcdn/pixcdn/internal/edge.(*Server).ServeHTTP
            |
            ---github.com/pixcdn/pixcdn/internal/edge.(*Server).ServeHTTP
     7.76%     1.01%  [.] github.com/pixcdn/pixcdn/internal/edge.(*Server).report
`
	for sym, want := range map[string]string{"edge.(*Server).ServeHTTP": "31.73", "edge.(*Server).report": "7.76", "accesslog.(*Logger).Log": "0"} {
		if got := perfSymbolShare(rep, sym); got != want {
			t.Errorf("%s: %s, want %s", sym, got, want)
		}
	}
}

func TestImgSoakPaths(t *testing.T) {
	p := imgSoakPaths()
	if len(p) != 80 || p[0] != "/files/photo.jpg?w=120&fm=jpg" || p[2] != "/files/photo.jpg?w=120&h=120&fit=fill&bg=ffffff&fm=jpg&q=70" || p[79] != "/files/alpha.png?w=1000&auto=format" {
		t.Errorf("%d paths: %q ... %q", len(p), p[:3], p[len(p)-1])
	}
}

func TestTamper(t *testing.T) {
	if tamper("/x?auth_key=1-0-0-ab0") != "/x?auth_key=1-0-0-ab1" || tamper("/x?auth_key=1-0-0-abc") != "/x?auth_key=1-0-0-ab0" {
		t.Error("tamper does not change the last character")
	}
}
