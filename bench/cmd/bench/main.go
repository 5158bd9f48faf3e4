// Command bench runs the pixcdn edge-core benchmarks of docs/BENCHMARKS.md, one subcommand per
// section (bench/run.sh is a wrapper around it):
//
//	go run ./bench/cmd/bench hit      cache-hit throughput, pixcdn vs nginx (proxy_cache), wrk
//	go run ./bench/cmd/bench herd     thundering herd: 200 clients, one cold object, 200 ms origin
//	go run ./bench/cmd/bench rss      peak RSS with a 300 MB working set over a 64 MiB memory tier
//	go run ./bench/cmd/bench rebuild  disk-tier rebuild time for 1M objects (internal/store, slow, optional)
//	go run ./bench/cmd/bench ops      operations: access log cost, purge latency, reload under load (pixcdn only)
//	go run ./bench/cmd/bench access   access control: rules' cost on the hit path, a one-key flood, spoofed keys
//	go run ./bench/cmd/bench images   image pipeline: CPU per image under load vs the libvips CLI, cached
//	                                  variants, bytes and SSIM of the default formats, RSS during a mixed soak
//	go run ./bench/cmd/bench imgcmp   image CPU per image beside imgproxy (runs bench/cmd/imgcmp; its flags after "--")
//	go run ./bench/cmd/bench text     text compression: ratio and CPU/MB per coding, br hits vs identity
//	go run ./bench/cmd/bench control  control plane (runs bench/cmd/control; its flags after "--")
//	go run ./bench/cmd/bench router   the router (runs bench/cmd/router; its flags after "--")
//	go run ./bench/cmd/bench all      hit, herd, rss and ops
//
// Flags follow the section (`bench hit -rounds 1`); each flag's default is its BENCH_*
// environment variable's value (see -h). Every server listens on 127.0.0.1 only, every load is
// bounded in time, and every process started is stopped at the end, on an error and on an
// interrupt (bench/internal/children). Tables go to stdout and to bench/results/STAMP.md; raw
// outputs (wrk, logs, configs) to bench/results/raw/STAMP/ (not committed).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/pixcdn/pixcdn/bench/internal/children"
)

// section is one subcommand: a section of docs/BENCHMARKS.md.
type section struct {
	name, help string
	run        func(*session)
	nginx      bool // needs nginx (and wrk) installed
	passArgs   bool // takes the arguments after "--" (the delegated programs)
}

// sections in the order of the usage text.
var sections = []section{
	{"hit", "cache-hit throughput, pixcdn vs nginx (proxy_cache), wrk", runHit, true, false},
	{"herd", "thundering herd: 200 clients, one cold object, 200 ms origin", runHerd, true, false},
	{"rss", "peak RSS with a 300 MB working set over a 64 MiB memory tier", runRSS, false, false},
	{"rebuild", "disk-tier rebuild time for 1M objects (internal/store, slow, optional)", runRebuild, false, false},
	{"ops", "operations: access log cost, purge latency, reload under load (pixcdn only)", runOps, false, false},
	{"access", "access control: rules' cost on the hit path, a one-key flood, spoofed keys", runAccess, false, false},
	{"images", "image pipeline: CPU per image vs the libvips CLI, cached variants, bytes and SSIM, RSS in a soak", runImages, false, false},
	{"imgcmp", "image CPU per image beside imgproxy, same sources and load (bench/cmd/imgcmp; -imgproxy, IMGPROXY_BIN)", runImgcmp, false, true},
	{"text", "text compression: ratio and CPU/MB per coding, br hits vs identity", runText, false, false},
	{"control", "control plane: purges to 5/20/100 edges, the NATS reference, config pushes (bench/cmd/control)", runControl, false, true},
	{"router", "the router: decision time, DNS with dnsperf, HTTP 302 vs nginx, a node's death (bench/cmd/router)", runRouter, true, true},
	{"all", "hit, herd, rss and ops (rebuild, access, images and text are not part of all)", runAll, true, false},
}

func runAll(s *session) {
	for _, run := range []func(*session){runHit, runHerd, runRSS, runOps} {
		run(s)
	}
}

func find(name string) *section {
	for i := range sections {
		if sections[i].name == name {
			return &sections[i]
		}
	}
	return nil
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	names := make([]string, len(sections))
	for i, s := range sections {
		names[i] = s.name
	}
	fmt.Fprintf(w, "usage: bench/run.sh %s [flags]\n   or: go run ./bench/cmd/bench SECTION [flags]\n\n", strings.Join(names, "|"))
	for _, s := range sections {
		fmt.Fprintf(w, "  %-8s %s\n", s.name, s.help)
	}
	fmt.Fprintf(w, "\nflags (each defaults to its environment variable):\n")
	fs.PrintDefaults()
}

func main() {
	var k knobs
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	envErr := k.register(fs)
	fs.Usage = func() { usage(fs) }
	if len(os.Args) < 2 || find(os.Args[1]) == nil {
		if len(os.Args) >= 2 && (os.Args[1] == "-h" || os.Args[1] == "-help" || os.Args[1] == "--help") {
			usage(fs)
			os.Exit(0)
		}
		usage(fs)
		os.Exit(2)
	}
	sec := find(os.Args[1])
	if err := fs.Parse(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if envErr != nil {
		fmt.Fprintln(os.Stderr, "bench:", envErr)
		os.Exit(2)
	}
	if fs.NArg() > 0 && !sec.passArgs {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	os.Exit(run(sec, &k, fs.Args()))
}

// run runs one section in a new session and returns the exit code. A failure anywhere (a
// session step panics with a failure, as the shell's die did) and an interrupt both end here,
// with every child process stopped and the work directory removed.
func run(sec *section, k *knobs, extra []string) (code int) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var current atomic.Pointer[session]
	var interrupted atomic.Bool
	go func() {
		got := <-sig
		interrupted.Store(true)
		fmt.Fprintln(os.Stderr, "bench:", got, "- stopping every process started")
		children.StopAll()
		if s := current.Load(); s != nil {
			s.cleanup()
		}
		os.Exit(130)
	}()
	defer func() {
		if r := recover(); r != nil {
			if interrupted.Load() {
				select {} // the interrupt's own goroutine cleans up and exits 130
			}
			f, ok := r.(failure)
			if !ok {
				children.StopAll()
				panic(r)
			}
			fmt.Fprintln(os.Stderr, "bench:", f.err)
			code = 1
		}
		children.StopAll()
		if s := current.Load(); s != nil {
			s.cleanup()
		}
	}()
	s := newSession(k, sec.name)
	s.extra = extra
	current.Store(s)
	s.prepare(sec.nginx)
	sec.run(s)
	s.finish()
	return 0
}
