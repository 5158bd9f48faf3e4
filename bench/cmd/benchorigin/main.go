// Command benchorigin is the origin server of the pixcdn benchmarks (bench/run.sh): fixed
// objects for the cache-hit test, slow objects for the thundering-herd test, generated objects
// for the memory test, and a per-path request counter at /__count so each run can prove how
// many requests the caches in front of it let through.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchorigin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("benchorigin", flag.ContinueOnError)
	cfg := DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:0", "listen `ADDR`")
	addrFile := fs.String("addr-file", "", "write the bound address to `FILE` once listening")
	fs.DurationVar(&cfg.Delay, "delay", cfg.Delay, "time /slow/* waits before answering")
	fs.IntVar(&cfg.GenSize, "gen-size", cfg.GenSize, "`bytes` of each /gen/* object")
	fs.StringVar(&cfg.FilesDir, "files", "", "serve the files of `DIR` as /files/<name>")
	fs.StringVar(&cfg.FilesCacheControl, "files-cache-control", cfg.FilesCacheControl, "Cache-Control `VALUE` of /files/*")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o, err := NewOrigin(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *addrFile != "" {
		// Written after Listen, so a reader that sees the file can connect at once.
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go stopOnSignal(srv)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func stopOnSignal(srv *http.Server) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	srv.Close()
}
