// Command ops drives the edge's operations features for bench/run.sh ops: it fills many small
// objects, times purges over the admin API (one URL, and a prefix covering a large fill) and
// checks, by the Cache-Status of the next request, that purged objects miss and others still
// hit. It talks to a running pixcdn only through its public ports, like any client or operator.
//
// Every subcommand prints one machine-readable line, "RESULT key=value ...", for the script.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ops:", err)
		os.Exit(1)
	}
}

const usage = "usage: ops fill|sample|purge-url|purge-prefix [flags]"

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("ops "+cmd, flag.ContinueOnError)
	var c Client
	fs.StringVar(&c.Base, "url", "", "base `URL` of the edge")
	fs.StringVar(&c.Admin, "admin", "", "base `URL` of the edge's admin API")
	fs.StringVar(&c.Token, "token", "", "admin bearer `token`")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")
	prefix := fs.String("prefix", "/gen/p/", "path prefix of the objects; object i is PREFIX<i>")
	n := fs.Int("n", 100000, "objects under the prefix")
	conc := fs.Int("c", 32, "concurrent requests (fill, sample)")
	k := fs.Int("k", 1000, "objects sampled (sample)")
	want := fs.String("want", "miss", "what every sampled object must be (sample): miss or hit")
	seed := fs.Int64("seed", 1, "sample seed")
	path := fs.String("path", "/gen/u/1", "the URL path purged (purge-url)")
	reps := fs.Int("reps", 200, "repetitions (purge-url)")
	delay := fs.Duration("delay", 0, "wait before purging (purge-prefix)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.init(max(*conc, 1)); err != nil {
		return err
	}
	switch cmd {
	case "fill":
		return runFill(out, &c, *prefix, *n, *conc)
	case "sample":
		return runSample(out, &c, *prefix, *n, *k, *conc, *want, *seed)
	case "purge-url":
		return runPurgeURL(out, &c, *path, *reps)
	case "purge-prefix":
		return runPurgePrefix(out, &c, *prefix, *n, *delay)
	}
	return fmt.Errorf("unknown subcommand %q; %s", cmd, usage)
}
