package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/config"
)

// cmdSign prints signed URLs for the domains of a configuration (the keys never leave it).
func cmdSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pixcdn sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "configuration `FILE` holding the domain's access.sign")
	rnd := fs.String("rand", "0", "type A: the random part")
	uid := fs.String("uid", "0", "type A: the user id part")
	at := fs.String("time", "", "sign as of this RFC 3339 `TIME` (default now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pixcdn sign -config FILE [-rand R] [-uid U] [-time T] URL...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if *file == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	now := time.Now()
	if *at != "" {
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintln(stderr, "pixcdn sign: -time:", err)
			return 2
		}
	}
	code := 0
	for _, raw := range fs.Args() {
		signed, err := signURL(cfg, raw, now, *rnd, *uid)
		if err != nil {
			fmt.Fprintf(stderr, "pixcdn sign: %s: %v\n", raw, err)
			code = 1
			continue
		}
		fmt.Fprintln(stdout, signed)
	}
	return code
}

func signURL(cfg *config.Config, raw string, now time.Time, rnd, uid string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	d := cfg.Domain(u.Host)
	if d == nil {
		return "", fmt.Errorf("no domain serves %s", u.Host)
	}
	if d.Access.Sign == nil {
		return "", fmt.Errorf("domain %s has no access.sign", d.Name)
	}
	v, err := access.NewVerifier(d.Access.Sign.SignConfig())
	if err != nil {
		return "", err
	}
	return v.Sign(raw, now, rnd, uid)
}
