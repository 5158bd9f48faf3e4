package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// controlPurge sends a purge to the control plane and prints each node's acknowledgement.
func controlPurge(ctx context.Context, af adminFlags, req purge.Purge, cio cliIO) int {
	c, err := af.controlClient()
	if err != nil {
		return exitCode(cio.stderr, "purge", err)
	}
	req.Issued = cio.now()
	var ans control.PurgeAnswer
	if err := c.callJSON(ctx, "POST", "/api/purge"+af.timeoutQuery(), req, &ans); err != nil {
		return exitCode(cio.stderr, "purge", err)
	}
	printControlPurge(cio.stdout, req, ans)
	if !ans.Complete {
		fmt.Fprintf(cio.stderr, "pixcdn purge: %d live node(s) did not acknowledge: %s\n", len(ans.Missing), strings.Join(ans.Missing, ", "))
		return 1
	}
	return 0
}

// printControlPurge says what was purged, then one line per node: name, POP, the time from the
// publish to its acknowledgement, and what it did.
func printControlPurge(w io.Writer, req purge.Purge, ans control.PurgeAnswer) {
	mode := "hard: deleted"
	if ans.Soft {
		mode = "soft: marked stale"
	}
	fmt.Fprintf(w, "purged %d %s (%s) on %d node(s), last acknowledgement after %.1f ms (id %s, seq %d)\n",
		ans.Targets, kindNoun(ans.Kind, ans.Targets), mode, len(ans.Acks), ans.LastAckMS, ans.ID, ans.Seq)
	for _, a := range ans.Acks {
		what := "applied"
		switch {
		case a.Error != "":
			what = "refused: " + a.Error
		case !a.Applied:
			what = "had it already"
		case len(a.Cached) > 0:
			what = fmt.Sprintf("applied, held %d of %d", countTrue(a.Cached), len(a.Cached))
		}
		fmt.Fprintf(w, "  %-20s %-10s %8.1f ms  %s\n", a.Node, a.POP, a.MS, what)
	}
	for _, n := range ans.Missing {
		fmt.Fprintf(w, "  %-20s %-10s %11s  NO ANSWER in time (it applies the purge from the stream before serving again)\n", n, "", "-")
	}
	for _, n := range ans.Away {
		fmt.Fprintf(w, "  %-20s %-10s %11s  away: applies it when it returns, before serving\n", n, "", "-")
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// controlPrefetch asks the control plane to warm every POP and prints each node's share.
func controlPrefetch(ctx context.Context, af adminFlags, urls []string, cio cliIO) int {
	c, err := af.controlClient()
	if err != nil {
		return exitCode(cio.stderr, "prefetch", err)
	}
	var ans control.PrefetchAnswer
	if err := c.callJSON(ctx, "POST", "/api/prefetch"+af.timeoutQuery(), map[string]any{"urls": urls}, &ans); err != nil {
		return exitCode(cio.stderr, "prefetch", err)
	}
	fmt.Fprintf(cio.stdout, "prefetched %d URL(s) through %d node(s), %d failed\n", ans.URLs, len(ans.Nodes), ans.Failed)
	for _, r := range ans.Nodes {
		fmt.Fprintf(cio.stdout, "  %-20s %-10s %d fetched, %d failed\n", r.Node, r.POP, r.Assigned, r.Failed)
		for _, res := range r.Results {
			if res.Failed() {
				fmt.Fprintf(cio.stdout, "    FAILED %s: %s\n", res.URL, res.Error)
			}
		}
	}
	for _, n := range ans.Missing {
		fmt.Fprintf(cio.stdout, "  %-20s NO ANSWER in time\n", n)
	}
	if ans.Failed > 0 || !ans.Complete {
		return 1
	}
	return 0
}

// callJSON sends body (JSON) with method to path and decodes the 200 answer into out.
func (c *adminClient) callJSON(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	ctype := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r, ctype = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(ctx, method, path, ctype, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s at %s sent an unreadable answer: %w", c.what, c.base, err)
	}
	return nil
}

const configUsage = `usage:
  pixcdn config check [-portable] FILE              validate a node's configuration file
  pixcdn config push [-m MESSAGE] [-wait D] FILE    store a domains document as the next version
  pixcdn config history                             list the stored versions, newest first
  pixcdn config show [VERSION]                      print a version's document (default: current)
  pixcdn config rollback [-wait D] VERSION          make VERSION's document current again

push, history, show and rollback talk to the control plane: -control URL (default $PIXCDN_CONTROL)
and -token TOKEN (default $PIXCDN_CONTROL_TOKEN). A pushed document has the one top-level key
"domains"; the control plane refuses it, with every problem's line, before any node sees it.
-wait waits until every live node runs the new version (or refused it) and prints each.
`

// cmdConfig: "pixcdn config VERB ...".
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	cio := osIO(stdout, stderr)
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return 2
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "check":
		return configCheck(rest, cio)
	case "push", "history", "show", "rollback":
		return configRemote(context.Background(), verb, rest, cio)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return 0
	}
	fmt.Fprintf(stderr, "pixcdn config: unknown verb %q\n\n%s", verb, configUsage)
	return 2
}

func configCheck(args []string, cio cliIO) int {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(cio.stderr)
	fs.Usage = func() { fmt.Fprint(cio.stderr, configUsage); fs.PrintDefaults() }
	portable := fs.Bool("portable", false, "pass a file whose only problems are this machine's (files it names that are not here, variables not set): it is checked for the node that runs it")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if fs.NArg() != 1 {
		fmt.Fprint(cio.stderr, configUsage)
		return 2
	}
	file := fs.Arg(0)
	cfg, err := config.Load(file)
	if err == nil {
		fmt.Fprintf(cio.stdout, "%s: ok (%d domains)\n", file, len(cfg.Domains))
		return 0
	}
	doc, machine := splitMachineProblems(err)
	if len(doc) > 0 {
		for _, e := range append(doc, machine...) {
			fmt.Fprintln(cio.stderr, e)
		}
		return 1
	}
	fmt.Fprintf(cio.stdout, "%s: valid, except what this machine lacks (check it on the node that runs it):\n", file)
	for _, e := range machine {
		fmt.Fprintf(cio.stdout, "  %v\n", e)
	}
	if *portable {
		return 0
	}
	return 1
}

// splitMachineProblems sorts a check's problems into the document's own and this machine's.
func splitMachineProblems(err error) (doc, machine []error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *config.Error
		if errors.As(e, &ce) && ce.Machine {
			machine = append(machine, e)
		} else {
			doc = append(doc, e)
		}
	}
	return doc, machine
}

func configRemote(ctx context.Context, verb string, args []string, cio cliIO) int {
	var af adminFlags
	fs := flag.NewFlagSet("config "+verb, flag.ContinueOnError)
	fs.SetOutput(cio.stderr)
	fs.Usage = func() { fmt.Fprint(cio.stderr, configUsage); fs.PrintDefaults() }
	af.register(fs, cio.getenv)
	message := fs.String("m", "", "with push: a `MESSAGE` stored with the version")
	wait := fs.Duration("wait", 10*time.Second, "with push and rollback: wait this long for every live node to run it (0: do not wait)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	c, err := af.controlClient()
	if err != nil {
		return exitCode(cio.stderr, "config "+verb, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute+*wait)
	defer cancel()
	rest := fs.Args()
	switch verb {
	case "push":
		if len(rest) != 1 {
			return exitCode(cio.stderr, "config push", fmt.Errorf("%w: want one FILE", errUsage))
		}
		return configPush(ctx, c, rest[0], *message, *wait, cio)
	case "history":
		return configHistory(ctx, c, cio)
	case "show":
		path := "/api/config?format=yaml"
		if len(rest) == 1 {
			path = "/api/config/versions/" + url.PathEscape(rest[0]) + "?format=yaml"
		}
		resp, err := c.do(ctx, "GET", path, "", nil)
		if err != nil {
			return exitCode(cio.stderr, "config show", err)
		}
		defer resp.Body.Close()
		io.Copy(cio.stdout, resp.Body)
		return 0
	}
	if len(rest) != 1 {
		return exitCode(cio.stderr, "config rollback", fmt.Errorf("%w: want one VERSION", errUsage))
	}
	v, err := strconv.ParseUint(rest[0], 10, 64)
	if err != nil {
		return exitCode(cio.stderr, "config rollback", fmt.Errorf("%w: VERSION %q is not a number", errUsage, rest[0]))
	}
	var ans versionAnswer
	err = c.callJSON(ctx, "POST", "/api/config/rollback?wait="+wait.String(), map[string]any{"version": v, "message": *message}, &ans)
	return printVersionAnswer(cio, "config rollback", ans, err)
}

type versionAnswer struct {
	Version uint64                `json:"version"`
	Nodes   []control.NodeVersion `json:"nodes"`
	MS      float64               `json:"ms"`
}

func configPush(ctx context.Context, c *adminClient, file, message string, wait time.Duration, cio cliIO) int {
	doc, err := os.ReadFile(file)
	if err != nil {
		return exitCode(cio.stderr, "config push", err)
	}
	q := url.Values{"file": {file}, "message": {message}, "wait": {wait.String()}}
	resp, err := c.do(ctx, "POST", "/api/config?"+q.Encode(), "application/yaml", bytes.NewReader(doc))
	var ans versionAnswer
	if err == nil {
		defer resp.Body.Close()
		err = json.NewDecoder(resp.Body).Decode(&ans)
	}
	return printVersionAnswer(cio, "config push", ans, err)
}

// printVersionAnswer prints the new version and where each node stands; exit 1 when a node
// refused it or did not take it in time.
func printVersionAnswer(cio cliIO, cmd string, ans versionAnswer, err error) int {
	if err != nil {
		return exitCode(cio.stderr, cmd, err)
	}
	fmt.Fprintf(cio.stdout, "version %d stored\n", ans.Version)
	bad := 0
	for _, n := range ans.Nodes {
		line := fmt.Sprintf("  %-20s %-10s %-8s", n.Node, n.POP, n.State)
		switch n.State {
		case "running":
			line += fmt.Sprintf(" after %.1f ms", n.MS)
		case "failed":
			bad++
			line += " keeps version " + strconv.FormatUint(n.Version, 10) + ": " + strings.ReplaceAll(n.Error, "\n", "; ")
		default:
			bad++
			line += " not running it yet"
		}
		fmt.Fprintln(cio.stdout, line)
	}
	if bad > 0 {
		return 1
	}
	return 0
}

func configHistory(ctx context.Context, c *adminClient, cio cliIO) int {
	var h struct {
		Versions []control.VersionInfo `json:"versions"`
	}
	if err := c.callJSON(ctx, "GET", "/api/config/history", nil, &h); err != nil {
		return exitCode(cio.stderr, "config history", err)
	}
	for _, v := range h.Versions {
		mark := " "
		if v.Current {
			mark = "*"
		}
		extra := v.Message
		if v.RollbackOf != 0 && extra == "" {
			extra = fmt.Sprintf("rollback to %d", v.RollbackOf)
		}
		fmt.Fprintf(cio.stdout, "%s %4d  %s  %s  %6d bytes  %s\n", mark, v.Version, v.Pushed.UTC().Format(time.RFC3339), v.SHA256[:12], v.Bytes, extra)
	}
	return 0
}
