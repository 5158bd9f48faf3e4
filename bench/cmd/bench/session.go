package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/edgeproc"
	"github.com/pixcdn/pixcdn/bench/internal/loopback"
	"github.com/pixcdn/pixcdn/bench/internal/nginx"
	"github.com/pixcdn/pixcdn/bench/internal/originproc"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
	"github.com/pixcdn/pixcdn/bench/internal/report"
	"github.com/pixcdn/pixcdn/bench/internal/result"
	"github.com/pixcdn/pixcdn/bench/internal/wrk"
)

// failure is what a session step panics with when it cannot go on (a server that does not
// start, a tool that fails): run recovers it, stops every child and exits 1. Steps fail like
// the shell's die, so that a section reads as the sequence of its measures.
type failure struct{ err error }

func fail(format string, a ...any) { panic(failure{fmt.Errorf(format, a...)}) }

// must fails on err.
func must(err error) {
	if err != nil {
		panic(failure{err})
	}
}

// session is one run of the program: the built binaries, the report and raw output of the
// run's stamp, a work directory removed at the end, and the servers of the current measure.
type session struct {
	k       *knobs
	cmd     string // the section asked
	root    string // the module's directory
	bench   string // root/bench
	bin     string // where the binaries are built
	stamp   string
	raw     string // bench/results/raw/STAMP
	work    string
	rep     *report.Report
	measure string           // names the raw files of the measure under way
	procs   []*children.Proc // started for the current measure; stopAll stops them
	origin  *originproc.Origin
	extra   []string // arguments after "--", for the delegated programs
}

func newSession(k *knobs, cmd string) *session {
	root, err := moduleRoot()
	must(err)
	s := &session{k: k, cmd: cmd, root: root, bench: filepath.Join(root, "bench"), bin: k.bin,
		stamp: time.Now().UTC().Format("20060102-150405")}
	s.raw = filepath.Join(s.bench, "results", "raw", s.stamp)
	s.work, err = os.MkdirTemp("", "pixcdn-bench-run.")
	must(err)
	return s
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the pixcdn module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// prepare installs what is missing, builds the binaries and opens the report.
func (s *session) prepare(needNginx bool) {
	ensurePkg("wrk", "wrk")
	if needNginx {
		ensurePkg("nginx", "nginx-light", "nginx")
	}
	s.build()
	must(os.MkdirAll(s.raw, 0o755))
	rep, err := report.Create(filepath.Join(s.bench, "results", s.stamp+".md"))
	must(err)
	s.rep = rep
	s.rep.Para("# pixcdn benchmark run %s (%s)", s.stamp, s.cmd)
	s.rep.Para("Date: %s. %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"), s.machineLine())
}

// helpers are the programs of bench/cmd the sections drive.
var helpers = []string{"benchorigin", "herd", "rss", "ops", "access", "imgsoak", "imgssim", "textratio"}

func (s *session) build() {
	must(os.MkdirAll(s.bin, 0o755))
	s.goCmd(5*time.Minute, filepath.Join(s.work, "build-pixcdn.txt"), "build", "-o", filepath.Join(s.bin, "pixcdn"), "./cmd/pixcdn")
	args := []string{"build", "-o", s.bin + "/"}
	for _, h := range helpers {
		args = append(args, "./bench/cmd/"+h)
	}
	s.goCmd(5*time.Minute, filepath.Join(s.work, "build-helpers.txt"), args...)
}

// goCmd runs the go tool in the module's directory, its output to out; it fails with that
// output when go does.
func (s *session) goCmd(limit time.Duration, out string, args ...string) {
	if err := s.runTo(limit, out, nil, s.root, "go", args...); err != nil {
		data, _ := os.ReadFile(out)
		fail("go %s: %v\n%s", strings.Join(args, " "), err, data)
	}
}

// runTo runs a bounded program, stdout and stderr to the file out.
func (s *session) runTo(limit time.Duration, out string, env []string, dir, bin string, args ...string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = f, f, dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	_, err = children.Run(filepath.Base(bin), cmd, limit)
	return err
}

// helper runs one of the built helpers to completion: stdout to the file out, stderr appended
// to errFile; it fails with the end of errFile when the helper does.
func (s *session) helper(limit time.Duration, out, errFile, name string, args ...string) {
	must(s.helperErr(limit, out, errFile, name, args...))
}

// helperErr is helper returning its failure (for a helper run beside a load).
func (s *session) helperErr(limit time.Duration, out, errFile, name string, args ...string) error {
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	defer o.Close()
	e, err := os.OpenFile(errFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer e.Close()
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Stdout, cmd.Stderr = o, e
	if _, err := children.Run(name, cmd, limit); err != nil {
		data, _ := os.ReadFile(errFile)
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args[:min(1, len(args))], ""), err, tailStr(string(data), 1500))
	}
	return nil
}

// resultOf reads the RESULT line a helper printed to the file out, and appends its output
// to the raw file keep (the helpers' log of the section).
func (s *session) resultOf(out, keep string) result.Fields {
	data, err := os.ReadFile(out)
	must(err)
	f, err := os.OpenFile(s.rawPath(keep), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	must(err)
	f.Write(data)
	f.Close()
	r, err := result.Parse(data)
	if err != nil {
		fail("%s: %v: %s", out, err, tailStr(string(data), 500))
	}
	return r
}

func (s *session) finish() {
	fmt.Fprintf(os.Stderr, "Raw outputs: bench/results/raw/%s/; this report: bench/results/%s.md\n", s.stamp, s.stamp)
	s.rep.Close()
}

func (s *session) cleanup() { os.RemoveAll(s.work) }

// ensurePkg installs the Debian packages pkgs (the first that installs) when cmd is missing.
func ensurePkg(cmd string, pkgs ...string) {
	if _, err := exec.LookPath(cmd); err == nil {
		return
	}
	if _, err := os.Stat("/usr/sbin/" + cmd); err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "bench: %s missing, installing %s\n", cmd, strings.Join(pkgs, " "))
	apt := func(args ...string) error {
		if os.Getuid() != 0 {
			args = append([]string{"apt-get"}, args...)
			c := exec.Command("sudo", args...)
			c.Stdout, c.Stderr = os.Stderr, os.Stderr
			return c.Run()
		}
		c := exec.Command("apt-get", args...)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		return c.Run()
	}
	apt("update")
	for _, p := range pkgs {
		if apt("install", "-y", p) == nil {
			return
		}
	}
	fail("could not install %s", cmd)
}

func (s *session) machineLine() string {
	model := "?"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	gover, _ := exec.Command("go", "version").Output()
	gv := strings.TrimPrefix(strings.TrimSpace(string(gover)), "go version ")
	wv, _ := exec.Command("wrk", "-v").CombinedOutput()
	wf := strings.Fields(string(wv))
	if len(wf) > 2 {
		wf = wf[:2]
	}
	rev, err := exec.Command("git", "-C", s.root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		rev = []byte("?")
	}
	return fmt.Sprintf("Machine: %d CPUs, %s; %s; %s; %s; pixcdn %s (working tree).",
		runtime.NumCPU(), model, gv, nginx.Version(), strings.Join(wf, " "), strings.TrimSpace(string(rev)))
}

// gomaxprocs is the GOMAXPROCS pixcdn runs with.
func (s *session) gomaxprocs() int {
	if s.k.gomaxprocs > 0 {
		return s.k.gomaxprocs
	}
	return runtime.NumCPU()
}

// rawPath is a file under the run's raw directory.
func (s *session) rawPath(name string) string { return filepath.Join(s.raw, name) }

// ---------------------------------------------------------------- servers

func (s *session) track(p *children.Proc) { s.procs = append(s.procs, p) }

// stopAll stops the servers of one measure before the next starts.
func (s *session) stopAll() {
	children.Stop(s.procs)
	s.procs = nil
	s.origin = nil
}

// stop stops one server of the measure early (an edge whose log must be drained).
func (s *session) stop(p *children.Proc) {
	children.Stop([]*children.Proc{p})
	for i, q := range s.procs {
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			break
		}
	}
}

// startOrigin starts benchorigin with /slow/* answering after delay (and args), the origin of
// the measure's edges and nginx.
func (s *session) startOrigin(delay string, args ...string) *originproc.Origin {
	o, err := originproc.Start(filepath.Join(s.bin, "benchorigin"), s.rawPath("origin-"+s.measure+".log"), append([]string{"-delay", delay}, args...)...)
	must(err)
	s.track(o.Proc)
	s.origin = o
	return o
}

// startEdge starts an edge named name (its files: WORK/name.yaml, raw/name.yaml and
// raw/pixcdn-name.log) in front of the measure's origin, on fresh ports.
func (s *session) startEdge(name string, c edgeproc.Config) *edgeproc.Edge {
	must(c.Ports())
	if c.Origin == "" {
		c.Origin = s.origin.URL
	}
	cfg := filepath.Join(s.work, name+".yaml")
	must(edgeproc.Write(filepath.Join(s.bin, "pixcdn"), cfg, c))
	copyFile(cfg, s.rawPath(name+".yaml"))
	e, err := edgeproc.Start(filepath.Join(s.bin, "pixcdn"), cfg, s.rawPath("pixcdn-"+name+".log"), c, s.gomaxprocs())
	must(err)
	s.track(e.Proc)
	return e
}

// startPixcdn starts the plain edge of a measure: domain "*", a disk cache at cacheDir and
// memory_size mem (when not ""). Should this pixcdn reject "*", it falls back to "127.0.0.1",
// the Host every client here sends, and the returned note says so for the report.
func (s *session) startPixcdn(cacheDir, mem string) (e *edgeproc.Edge, note string) {
	return s.startPixcdnAs("pixcdn", cacheDir, mem, "")
}

// startPixcdnAs is startPixcdn for a second edge of the same measure: name prefixes its
// files, loops sets server.event_loops ("" leaves the default).
func (s *session) startPixcdnAs(name, cacheDir, mem, loops string) (e *edgeproc.Edge, note string) {
	var rejected error
	for _, domain := range []string{"*", "127.0.0.1"} {
		c := edgeproc.Config{CacheDir: cacheDir, MemorySize: mem, Domain: domain, Origin: s.origin.URL, EventLoops: loops}
		must(c.Ports())
		cfg := filepath.Join(s.work, name+"-"+s.measure+".yaml")
		err := edgeproc.Write(filepath.Join(s.bin, "pixcdn"), cfg, c)
		if err != nil {
			if rejected == nil {
				rejected = err
			}
			continue
		}
		copyFile(cfg, s.rawPath(name+"-"+s.measure+".yaml"))
		if rejected != nil {
			note = fmt.Sprintf("Note: `pixcdn config check` rejected domain \"*\" (`%s`); this run used domain %q.", tailStr(rejected.Error(), 300), domain)
		}
		e, err := edgeproc.Start(filepath.Join(s.bin, "pixcdn"), cfg, s.rawPath(name+"-"+s.measure+".log"), c, s.gomaxprocs())
		must(err)
		s.track(e.Proc)
		return e, note
	}
	fail("pixcdn rejects the benchmark config: %v", rejected)
	return nil, ""
}

// startNginx starts the proxy_cache reference in front of the measure's origin.
func (s *session) startNginx() *nginx.Server {
	port, err := loopback.FreePort()
	must(err)
	c := nginx.Config{Dir: filepath.Join(s.work, "nginx-"+s.measure), Port: port, Upstream: s.origin.Addr, Sendfile: s.k.sendfile, User: nginx.UserLine()}
	n, err := nginx.Start(c, s.rawPath("nginx-"+s.measure+".log"))
	must(err)
	copyFile(n.Conf, s.rawPath("nginx-"+s.measure+".conf"))
	s.track(n.Proc)
	return n
}

// saveStats keeps an edge's admin /stats in the raw directory.
func (s *session) saveStats(e *edgeproc.Edge, name string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.Admin + "/stats")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	os.WriteFile(s.rawPath(name), data, 0o644)
}

func (s *session) originCount(path string) int64 {
	n, err := s.origin.Count(path)
	must(err)
	return n
}

// ---------------------------------------------------------------- load

// load is one bounded wrk run against one server.
type load struct {
	raw        string // the name of its output in the raw directory
	url        string
	script     string // under bench/wrk/; "" is report.lua
	threads    int    // 0: 2
	conns      int    // 0: 64
	dur        time.Duration
	timeout    time.Duration
	headers    []string
	env        []string
	server     func() time.Duration // the measured server's CPU so far
	originPath string               // origin requests counted for this path ("" every path)
	limit      time.Duration        // 0: 120 s
}

// measured is what one load gave: wrk's numbers, the server's CPU, the origin requests it
// caused, and how busy the rest of the machine was meanwhile.
type measured struct {
	wrk.Result
	serverCPU time.Duration
	origin    int64
	other     float64 // % of every CPU busy outside wrk and the server
}

// cpuPer is the server's CPU in µs per request wrk completed.
func (m measured) cpuPer(n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(m.serverCPU) / 1e3 / float64(n)
}

func (s *session) wrk(l load) measured {
	script := l.script
	if script == "" {
		script = "report.lua"
	}
	o := wrk.Options{Threads: orInt(l.threads, 2), Conns: orInt(l.conns, 64), Duration: l.dur, Timeout: l.timeout, Latency: true,
		Script: filepath.Join(s.bench, "wrk", script), Headers: l.headers, Env: l.env, URL: l.url, Out: s.rawPath(l.raw), Limit: l.limit}
	if o.Limit == 0 {
		o.Limit = 120 * time.Second
	}
	var before int64
	if s.origin != nil {
		before = s.originCount(l.originPath)
	}
	w := procstat.StartWindow(l.server)
	r, err := wrk.Run(o)
	if err != nil {
		fail("wrk failed: %v", err)
	}
	m := measured{Result: r}
	m.serverCPU, m.other = w.End(r.CPU)
	if s.origin != nil {
		m.origin = s.originCount(l.originPath) - before
	}
	return m
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// ---------------------------------------------------------------- small things

func copyFile(from, to string) {
	data, err := os.ReadFile(from)
	must(err)
	must(os.WriteFile(to, data, 0o644))
}

func tailStr(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func loadavg() string { return procstat.LoadAvg() }

func progress(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

var procstatCPU = procstat.CPU
