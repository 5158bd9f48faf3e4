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
