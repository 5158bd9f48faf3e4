package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
)

const prefetchUsage = `usage: pixcdn prefetch [-admin URL | -control URL] [-token T] [-f FILE] URL...

Fetches each URL into the cache of the node behind the admin API, or with -control into every
POP of the CDN (each URL once per POP, by the node that owns it there). -f reads more URLs from
FILE ("-" for standard input), one a line; blank lines and lines starting with # are skipped.
Exits 1 if any URL failed.
`

// prefetchBatch is how many URLs one request carries: well under the API's limits, and a
// cut connection loses at most one batch's answers.
const prefetchBatch = 10_000

// cmdPrefetch: "pixcdn prefetch" warms a node's cache through its admin API. Ctrl-C stops
// the node's work too.
func cmdPrefetch(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return prefetchCommand(ctx, args, osIO(stdout, stderr))
}

func prefetchCommand(ctx context.Context, args []string, cio cliIO) int {
	urls, af, err := parsePrefetch(args, cio)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return exitCode(cio.stderr, "prefetch", err)
	}
	if af.viaControl() {
		return controlPrefetch(ctx, af, urls, cio)
	}
	c, err := af.client()
	if err != nil {
		return exitCode(cio.stderr, "prefetch", err)
	}
	p := newProgress(cio, len(urls))
	for start := 0; start < len(urls) && err == nil; start += prefetchBatch {
		err = prefetch(ctx, c, urls[start:min(start+prefetchBatch, len(urls))], p.result)
	}
	p.finish()
	if err != nil {
		return exitCode(cio.stderr, "prefetch", err)
	}
	if p.failed > 0 {
		return 1
	}
	return 0
}

func parsePrefetch(args []string, cio cliIO) ([]string, adminFlags, error) {
	var af adminFlags
	var file string
	fs := flag.NewFlagSet("prefetch", flag.ContinueOnError)
	fs.SetOutput(cio.stderr)
	fs.Usage = func() { fmt.Fprint(cio.stderr, prefetchUsage); fs.PrintDefaults() }
	af.register(fs, cio.getenv)
	fs.StringVar(&file, "f", "", "read URLs from `FILE`, one a line (- = standard input)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, af, err
		}
		return nil, af, fmt.Errorf("%w: %v", errUsage, err)
	}
	urls := fs.Args()
	if file != "" {
		more, err := readURLFile(file, cio.stdin)
		if err != nil {
			return nil, af, err
		}
		urls = append(urls, more...)
	}
	if len(urls) == 0 {
		return nil, af, fmt.Errorf("%w: no URLs to prefetch\n\n%s", errUsage, prefetchUsage)
	}
	return urls, af, nil
}

// readURLFile reads one URL a line from name ("-" = stdin), skipping blank lines and # comments.
func readURLFile(name string, stdin io.Reader) ([]string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var urls []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			urls = append(urls, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return urls, nil
}

// prefetch sends one batch and hands each streamed result to report. A stream that ends
// before its done line is an error: the node did not answer for every URL.
func prefetch(ctx context.Context, c *adminClient, urls []string, report func(admin.PrefetchResult)) error {
	resp, err := c.post(ctx, "/prefetch", admin.PrefetchRequest{URLs: urls})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	got := 0
	for sc.Scan() {
		var l struct {
			admin.PrefetchResult
			admin.PrefetchDone
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("the admin API at %s sent an unreadable line %q: %w", c.base, sc.Text(), err)
		}
		if l.Done {
			return nil
		}
		got++
		report(l.PrefetchResult)
	}
	if err = sc.Err(); err == nil {
		err = io.ErrUnexpectedEOF
	}
	if ctx.Err() != nil {
		err = errors.New("interrupted")
	}
	return fmt.Errorf("the stream from the admin API at %s ended after %d of %d results: %v", c.base, got, len(urls), err)
}

// progress shows a prefetch as it goes: on a terminal one bar redrawn in place with failures
// printed above it, elsewhere (a file, a pipe, CI logs) one line per URL.
type progress struct {
	w                   io.Writer
	tty                 bool
	now                 func() time.Time
	start, drawn        time.Time
	total, done, failed int
	bytes               int64
}

// redrawEvery keeps a fast prefetch from spending its time repainting the terminal.
const redrawEvery = 100 * time.Millisecond

func newProgress(cio cliIO, total int) *progress {
	t := cio.now()
	return &progress{w: cio.stdout, tty: isTerminal(cio.stdout), now: cio.now, start: t, total: total}
}

// isTerminal reports whether w is a character device; golang.org/x/term would also check the
// ioctl, which is not worth a dependency here.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) result(r admin.PrefetchResult) {
	p.done++
	p.bytes += r.Bytes
	if r.Failed() {
		p.failed++
	}
	if !p.tty {
		fmt.Fprintln(p.w, resultLine(r))
		return
	}
	if r.Failed() {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", resultLine(r))
	}
	if now := p.now(); r.Failed() || now.Sub(p.drawn) >= redrawEvery || p.done == p.total {
		p.drawn = now
		fmt.Fprint(p.w, p.bar(now))
	}
}

// resultLine is "ok   200 miss      1.2 KiB    3.1 ms https://..." or "FAIL 404 https://...: reason".
func resultLine(r admin.PrefetchResult) string {
	if r.Failed() {
		return fmt.Sprintf("FAIL %3d %s: %s", r.Status, r.URL, r.Error)
	}
	return fmt.Sprintf("ok   %3d %-12s %10s %8.1f ms %s", r.Status, r.CacheStatus, sizeString(r.Bytes), r.DurationMS, r.URL)
}

// bar is "\r[########------------] 120/1000  3 failed  45.2/s" ending with a clear-to-end-of-line.
func (p *progress) bar(now time.Time) string {
	const width = 30
	filled := width
	if p.total > 0 {
		filled = width * p.done / p.total
	}
	return fmt.Sprintf("\r[%s%s] %d/%d  %d failed  %s\x1b[K", strings.Repeat("#", filled), strings.Repeat("-", width-filled),
		p.done, p.total, p.failed, p.rate(now))
}

func (p *progress) rate(now time.Time) string {
	secs := now.Sub(p.start).Seconds()
	if secs <= 0 {
		return "-/s"
	}
	return fmt.Sprintf("%.1f/s", float64(p.done)/secs)
}

// finish ends the bar and prints the summary.
func (p *progress) finish() {
	now := p.now()
	if p.tty {
		fmt.Fprintln(p.w, p.bar(now))
	}
	fmt.Fprintf(p.w, "prefetched %d of %d URLs, %d failed, %s in %s (%s)\n", p.done-p.failed, p.total, p.failed,
		sizeString(p.bytes), now.Sub(p.start).Round(time.Millisecond), p.rate(now))
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
