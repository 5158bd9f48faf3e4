// Package wrk runs the wrk load generator for a bounded time and reads what it printed: the
// RESULT line the lua scripts under bench/wrk/ write (requests, rate, latency percentiles in
// µs, socket and status errors, and the scripts' own status counts) and wrk's own summary with
// its --latency distribution.
package wrk

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/result"
)

// Options is one wrk run. The zero value of a field is wrk's own default, except Threads and
// Conns (1 each) and Duration (required).
type Options struct {
	Threads, Conns int
	Duration       time.Duration // -d, in whole seconds (at least 1 s)
	Timeout        time.Duration // --timeout; 0: wrk's 2 s
	Latency        bool          // --latency: print the latency distribution
	Script         string        // -s: a lua script, one of bench/wrk/*.lua for a RESULT line
	Headers        []string      // -H "Name: value", in order
	Env            []string      // extra environment (the scripts' WRK_PATH_PREFIX...)
	URL            string
	Out            string        // file that receives wrk's output (stdout and stderr)
	Limit          time.Duration // stop wrk after this long; 0: Duration + 60 s
}

// Args are the command-line arguments of o, without the program name.
func (o Options) Args() []string {
	secs := max(1, int((o.Duration+time.Second/2)/time.Second))
	args := []string{"-t" + strconv.Itoa(max(1, o.Threads)), "-c" + strconv.Itoa(max(1, o.Conns)), "-d" + strconv.Itoa(secs) + "s"}
	if o.Timeout > 0 {
		args = append(args, "--timeout", strconv.Itoa(max(1, int(o.Timeout/time.Second)))+"s")
	}
	if o.Latency {
		args = append(args, "--latency")
	}
	for _, h := range o.Headers {
		args = append(args, "-H", h)
	}
	if o.Script != "" {
		args = append(args, "-s", o.Script)
	}
	return append(args, o.URL)
}

// Result is what one run printed, and wrk's own CPU.
type Result struct {
	Requests     int64
	Duration     time.Duration
	RPS          float64
	P50, P99     time.Duration
	Max          time.Duration
	Errors       int64 // connect, read, write errors and timeouts
	StatusErrors int64 // answers that were not 2xx or 3xx
	Bytes        int64
	// Fields holds every key=value of the RESULT line as printed, the scripts' counts (c200,
	// c429, ...) among them.
	Fields result.Fields
	// Distribution is wrk's --latency table: percentile (50, 75, 90, 99) to latency; nil
	// without --latency.
	Distribution map[float64]time.Duration
	CPU          time.Duration // wrk's user+system CPU; set by Run
}

// Int is the integer field key of the RESULT line; ok is false when it is absent or not an
// integer.
func (r Result) Int(key string) (n int64, ok bool) { return r.Fields.Int(key) }

// ErrNoResult means wrk's output holds no RESULT line: the run used no bench/wrk script, or
// wrk failed before its done() hook.
var ErrNoResult = result.ErrNone

// Run runs wrk to completion (stopped after o.Limit), its output in o.Out, and parses it.
func Run(o Options) (Result, error) {
	out, err := os.Create(o.Out)
	if err != nil {
		return Result{}, err
	}
	defer out.Close()
	cmd := exec.Command("wrk", o.Args()...)
	cmd.Stdout, cmd.Stderr = out, out
	if o.Env != nil {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	limit := o.Limit
	if limit == 0 {
		limit = o.Duration + time.Minute
	}
	st, err := children.Run("wrk", cmd, limit)
	data, _ := os.ReadFile(o.Out)
	if err != nil {
		return Result{}, fmt.Errorf("%w\n%s", err, tail(data, 1500))
	}
	r, err := Parse(data)
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", o.Out, err, tail(data, 1500))
	}
	r.CPU = st.UserTime() + st.SystemTime()
	return r, nil
}

// Parse reads wrk's output: the last RESULT line (required) and the latency distribution
// (when wrk printed one).
func Parse(out []byte) (Result, error) {
	var r Result
	var line string
	inDist := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "RESULT "):
			line = l
		case strings.TrimSpace(l) == "Latency Distribution":
			inDist = true
		case inDist:
			p, d, ok := parseDistLine(l)
			if !ok {
				inDist = false
				continue
			}
			if r.Distribution == nil {
				r.Distribution = map[float64]time.Duration{}
			}
			r.Distribution[p] = d
		}
	}
	if line == "" {
		return r, ErrNoResult
	}
	return r, r.parseResult(line)
}

func (r *Result) parseResult(line string) error {
	f, err := result.ParseLine(line)
	if err != nil {
		return fmt.Errorf("wrk: %w", err)
	}
	r.Fields = f
	ints := []struct {
		key string
		dst *int64
	}{{"requests", &r.Requests}, {"errors", &r.Errors}, {"status_errors", &r.StatusErrors}, {"bytes", &r.Bytes}}
	for _, f := range ints {
		n, ok := r.Int(f.key)
		if !ok {
			return fmt.Errorf("wrk: RESULT has no integer %s", f.key)
		}
		*f.dst = n
	}
	durs := []struct {
		key string
		dst *time.Duration
	}{{"duration_us", &r.Duration}, {"p50_us", &r.P50}, {"p99_us", &r.P99}, {"max_us", &r.Max}}
	for _, f := range durs {
		n, ok := r.Int(f.key)
		if !ok {
			return fmt.Errorf("wrk: RESULT has no integer %s", f.key)
		}
		*f.dst = time.Duration(n) * time.Microsecond
	}
	rps, ok := r.Fields.Float("rps")
	if !ok {
		return fmt.Errorf("wrk: RESULT has no number rps")
	}
	r.RPS = rps
	return nil
}

// parseDistLine reads "     50%    1.23ms" of wrk's latency distribution.
func parseDistLine(l string) (float64, time.Duration, bool) {
	f := strings.Fields(l)
	if len(f) != 2 || !strings.HasSuffix(f[0], "%") {
		return 0, 0, false
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
	if err != nil {
		return 0, 0, false
	}
	d, err := time.ParseDuration(f[1]) // wrk's units (us, ms, s, m, h) are Go's
	if err != nil {
		return 0, 0, false
	}
	return p, d, true
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
