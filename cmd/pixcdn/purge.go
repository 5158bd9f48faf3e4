package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

const purgeUsage = `usage: pixcdn purge [-admin URL | -control URL] [-token T] [-soft] [-prefix | -tag [-within DOMAIN] | -domain] TARGET...

Removes cached objects on the node behind the admin API, or with -control on every node of the
CDN: then one line per node says when it acknowledged, and the command exits 1 when a live node
did not answer in time. Without a kind flag each TARGET is a URL (https://img.example.com/a.jpg
or img.example.com/a.jpg). -soft marks them stale instead: they are revalidated with the origin
on next use and may still be served if the origin fails. Flags come before the targets.
`

// purgeTimeout bounds one purge call; a purge is applied before the node answers.
const purgeTimeout = time.Minute

// cmdPurge: "pixcdn purge" asks a node's admin API to purge URLs, prefixes, tags or domains.
func cmdPurge(args []string, stdout, stderr io.Writer) int {
	return purgeCommand(context.Background(), args, osIO(stdout, stderr))
}

func purgeCommand(ctx context.Context, args []string, cio cliIO) int {
	req, af, err := parsePurge(args, cio)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return exitCode(cio.stderr, "purge", err)
	}
	ctx, cancel := context.WithTimeout(ctx, purgeTimeout)
	defer cancel()
	if af.viaControl() {
		return controlPurge(ctx, af, req, cio)
	}
	c, err := af.client()
	if err != nil {
		return exitCode(cio.stderr, "purge", err)
	}
	res, err := sendPurge(ctx, c, req)
	if err != nil {
		return exitCode(cio.stderr, "purge", err)
	}
	printPurge(cio.stdout, req, res)
	return 0
}

// parsePurge reads the flags into a purge request.
func parsePurge(args []string, cio cliIO) (purge.Purge, adminFlags, error) {
	var af adminFlags
	var prefix, tag, domain bool
	req := purge.Purge{ID: purge.NewID(), Kind: purge.URL} // the ID makes a retried request apply once
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(cio.stderr)
	fs.Usage = func() { fmt.Fprint(cio.stderr, purgeUsage); fs.PrintDefaults() }
	af.register(fs, cio.getenv)
	fs.BoolVar(&req.Soft, "soft", false, "mark stale instead of deleting")
	fs.BoolVar(&prefix, "prefix", false, "targets are URL prefixes (img.example.com/avatars/)")
	fs.BoolVar(&tag, "tag", false, "targets are cache tags")
	fs.BoolVar(&domain, "domain", false, "targets are domains: purge everything they cached")
	fs.StringVar(&req.Domain, "within", "", "with -tag: purge the tags in this `DOMAIN` only")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return req, af, err
		}
		return req, af, fmt.Errorf("%w: %v", errUsage, err)
	}
	kinds := 0
	for _, k := range []struct {
		set  bool
		kind purge.Kind
	}{{prefix, purge.Prefix}, {tag, purge.Tag}, {domain, purge.Domain}} {
		if k.set {
			req.Kind, kinds = k.kind, kinds+1
		}
	}
	req.Targets = fs.Args()
	switch {
	case kinds > 1:
		return req, af, fmt.Errorf("%w: choose one of -prefix, -tag and -domain", errUsage)
	case req.Domain != "" && !tag:
		return req, af, fmt.Errorf("%w: -within applies to -tag purges only", errUsage)
	case len(req.Targets) == 0:
		return req, af, fmt.Errorf("%w: nothing to purge\n\n%s", errUsage, purgeUsage)
	}
	return req, af, nil
}

func sendPurge(ctx context.Context, c *adminClient, req purge.Purge) (purge.Result, error) {
	var res purge.Result
	resp, err := c.post(ctx, "/purge", req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, fmt.Errorf("the admin API at %s sent an unreadable purge result: %w", c.base, err)
	}
	return res, nil
}

// printPurge says what was purged: "purged 2 URLs (hard: deleted) at 2026-11-22T08:00:00Z",
// then the targets, one a line, each URL with what the nodes held of it ("deleted on edge-a1",
// "not cached"). Other kinds are bans matched lazily: what they cover is not counted.
func printPurge(w io.Writer, req purge.Purge, res purge.Result) {
	mode, done := "hard: deleted", "deleted"
	if res.Soft {
		mode, done = "soft: marked stale", "marked stale"
	}
	within := ""
	if req.Domain != "" {
		within = " in " + req.Domain
	}
	fmt.Fprintf(w, "purged %d %s%s (%s) at %s\n", res.Targets, kindNoun(res.Kind, res.Targets), within, mode,
		res.Issued.UTC().Format(time.RFC3339Nano))
	holders, counted := cachedOn(res, len(req.Targets))
	for i, t := range req.Targets {
		switch {
		case !counted:
			fmt.Fprintf(w, "  %s\n", t)
		case len(holders[i]) == 0:
			fmt.Fprintf(w, "  %s: not cached\n", t)
		default:
			fmt.Fprintf(w, "  %s: %s on %s\n", t, done, strings.Join(holders[i], ", "))
		}
	}
	switch {
	case !res.Applied:
		fmt.Fprintf(w, "(purge %s had been applied already: nothing changed)\n", res.ID)
	case res.Kind != purge.URL && res.Soft:
		fmt.Fprintf(w, "(objects it covers are revalidated as they are next requested; they are not counted)\n")
	case res.Kind != purge.URL:
		fmt.Fprintf(w, "(objects it covers become misses as they are next requested; they are not counted)\n")
	}
	for _, p := range res.Peers {
		if p.Error != "" {
			fmt.Fprintf(w, "node %s did not apply it: %s\n", p.Node, p.Error)
		}
	}
}

// cachedOn lists, per URL target, the nodes (this one and its POP's peers) that held a copy.
// counted is false when no node said (another kind, or a purge applied before).
func cachedOn(res purge.Result, n int) (holders [][]string, counted bool) {
	holders = make([][]string, n)
	for _, r := range append([]purge.Result{res}, res.Peers...) {
		if len(r.Cached) != n {
			continue
		}
		counted = true
		for i, c := range r.Cached {
			if c {
				holders[i] = append(holders[i], r.Node)
			}
		}
	}
	return holders, counted
}

func kindNoun(kind purge.Kind, n int) string {
	noun := map[purge.Kind]string{purge.URL: "URL", purge.Prefix: "prefix", purge.Tag: "tag", purge.Domain: "domain"}[kind]
	if noun == "" {
		noun = string(kind) + " target"
	}
	switch {
	case n == 1:
		return noun
	case kind == purge.Prefix:
		return noun + "es"
	}
	return noun + "s"
}
