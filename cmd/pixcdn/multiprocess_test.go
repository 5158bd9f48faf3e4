package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/control"
)

// The multi-process tests run the control plane as production runs it: a nats-server built
// from the pinned module, "pixcdn control -nats" and "pixcdn edge -nats" as separate processes
// on loopback, and the CLI talking HTTP to the control process. The in-process tests
// (control_test.go) cover the semantics; these cover what only separate processes show: a
// node killed without a word, NATS itself going away and coming back.

// The binaries are built once per run of the test binary, into binDir, which TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildTook time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinaries builds pixcdn (this package) and the nats-server go.mod pins, in one go build
// so that their packages compile in parallel, and returns their paths.
func buildBinaries(t *testing.T) (pixcdn, natsServer string) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "pixcdn-multiprocess-"); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binDir+string(filepath.Separator),
			"github.com/pixcdn/pixcdn/cmd/pixcdn", "github.com/nats-io/nats-server/v2").CombinedOutput()
		buildTook = time.Since(start)
		if err != nil {
			buildErr = fmt.Errorf("go build (%v): %w\n%s", buildTook.Round(time.Millisecond), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	t.Logf("pixcdn and nats-server built in %v (once per test run)", buildTook.Round(time.Millisecond))
	return filepath.Join(binDir, "pixcdn"), filepath.Join(binDir, "nats-server")
}

// lockedBuffer collects a process's output, written by os/exec's copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a child process of the test. It ends with the test: SIGTERM, then SIGKILL when it
// has not exited 5 s later, and it must then exit 0 (unless the test killed it). Its stderr is
// shown when the test fails (always with $PIXCDN_TEST_LOG set).
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{} // closed once it has exited
	killed         bool          // by the test, on purpose
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = 5 * time.Second
	t.Cleanup(func() { // runs after the one below: the process has exited by then
		if t.Failed() || os.Getenv("PIXCDN_TEST_LOG") != "" {
			t.Logf("--- %s %s (%v), stderr:\n%s", name, strings.Join(args, " "), p.cmd.ProcessState, p.stderr.String())
		}
	})
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if !p.killed && !p.cmd.ProcessState.Success() {
			t.Errorf("%s did not stop cleanly on SIGTERM: %v", name, p.cmd.ProcessState)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would, and waits for it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.killed = true
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10 s after SIGKILL", p.name)
	}
}

// stop sends SIGTERM and wants the process to exit 0 within d.
func (p *proc) stop(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s still running %v after SIGTERM", p.name, d)
	}
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("%s stopped with %v", p.name, p.cmd.ProcessState)
	}
	t.Logf("%s stopped in %v", p.name, time.Since(start).Round(time.Millisecond))
}

// mustRun fails the test when p has exited: a wait on it would only time out.
func (p *proc) mustRun(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited (%v):\n%s", p.name, p.cmd.ProcessState, p.stderr.String())
	}
}

// waitFor polls cond, the state of another process, every 20 ms until it holds; it fails
// after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// freeAddr is a loopback address no one listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mpCDN is a CDN of separate processes: one nats-server, one control plane and its edges.
type mpCDN struct {
	pixcdn, natsBin   string
	natsAddr, natsDir string
	nats, control     *proc
	controlURL        string
	origin            *countingOrigin
	edges             []*mpEdge
	client            *http.Client
}

// mpEdge is one edge process; a restart keeps its name, addresses and cache directory.
type mpEdge struct {
	name, http, admin, cacheDir string
	p                           *proc
}

func (c *mpCDN) natsURL() string { return "nats://" + c.natsAddr }

// startNATS runs nats-server with JetStream on c.natsAddr and c.natsDir (again after a stop:
// same port, same storage) and waits until it accepts connections.
func (c *mpCDN) startNATS(t *testing.T) {
	t.Helper()
	host, port, _ := net.SplitHostPort(c.natsAddr)
	c.nats = startProc(t, "nats-server", c.natsBin, "-js", "-sd", c.natsDir, "-a", host, "-p", port, "-n", "pixcdn-test-nats")
	waitFor(t, 15*time.Second, "nats-server to accept connections", func() bool {
		c.nats.mustRun(t)
		conn, err := net.DialTimeout("tcp", c.natsAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

func (c *mpCDN) startControl(t *testing.T) {
	t.Helper()
	addr := freeAddr(t)
	c.controlURL = "http://" + addr
	c.control = startProc(t, "control", c.pixcdn, "control", "-nats", c.natsURL(), "-listen", addr, "-token", testControlToken)
	waitFor(t, 20*time.Second, "the control plane's API", func() bool {
		c.control.mustRun(t)
		return strings.Contains(c.control.stdout.String(), "control plane: API "+c.controlURL)
	})
}

func (c *mpCDN) startEdge(t *testing.T, e *mpEdge) {
	t.Helper()
	e.p = startProc(t, e.name, c.pixcdn, "edge", "-nats", c.natsURL(), "-node-name", e.name, "-pop", "p-"+e.name,
		"-listen", e.http, "-admin", e.admin, "-cache-dir", e.cacheDir)
}

// cli runs a pixcdn command in this process against the control process, over HTTP.
func (c *mpCDN) cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	remote := []string{"-control", c.controlURL, "-token", testControlToken}
	var full []string
	if args[0] == "config" {
		full = append(append([]string{"config", args[1]}, remote...), args[2:]...)
	} else {
		full = append(append([]string{args[0]}, remote...), args[1:]...)
	}
	code = run(full, &out, &errb)
	return code, out.String(), errb.String()
}

func (c *mpCDN) push(t *testing.T, doc string, flags ...string) (int, string, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "domains.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return c.cli(t, append(append([]string{"config", "push"}, flags...), f)...)
}

// get asks edge e for path on host; err is a request that got no answer.
func (c *mpCDN) get(e *mpEdge, host, path string) (code int, body, cacheStatus string, err error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+e.http+path, nil)
	if err != nil {
		return 0, "", "", err
	}
	req.Host = host
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Cache-Status"), err
}

// mustGet is get that wants a 200 and returns the Cache-Status.
func (c *mpCDN) mustGet(t *testing.T, e *mpEdge, host, path string) string {
	t.Helper()
	code, body, cs, err := c.get(e, host, path)
	if err != nil || code != 200 {
		t.Fatalf("%s: GET %s%s: %d %q %v", e.name, host, path, code, body, err)
	}
	return cs
}

// adminGet reads an edge's admin endpoint; "" when it does not answer.
func (c *mpCDN) adminGet(e *mpEdge, path string) string {
	resp, err := c.client.Get("http://" + e.admin + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// api reads the control plane's API into v.
func (c *mpCDN) api(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.controlURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testControlToken)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// controlReadyz is the status of the control plane's /readyz; 0 when it does not answer.
func (c *mpCDN) controlReadyz() int {
	resp, err := c.client.Get(c.controlURL + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReadyz waits until every edge's admin /readyz says want.
func (c *mpCDN) waitReadyz(t *testing.T, d time.Duration, want string) {
	t.Helper()
	for _, e := range c.edges {
		waitFor(t, d, e.name+"'s /readyz to say "+want, func() bool {
			e.p.mustRun(t)
			return strings.Contains(c.adminGet(e, "/readyz"), want)
		})
	}
}

func TestMultiProcessExternalNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pixcdn and nats-server and runs five processes")
	}
	pixcdn, natsBin := buildBinaries(t)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	c := &mpCDN{pixcdn: pixcdn, natsBin: natsBin, natsAddr: freeAddr(t), natsDir: t.TempDir(),
		origin: newCountingOrigin(t), client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(c.client.CloseIdleConnections)
	c.startNATS(t)
	c.startControl(t)
	for i := 1; i <= 3; i++ {
		e := &mpEdge{name: fmt.Sprintf("e%d", i), http: freeAddr(t), admin: freeAddr(t), cacheDir: t.TempDir()}
		c.edges = append(c.edges, e)
		c.startEdge(t, e) // no domains of its own: it waits for the control plane's first version
	}
	if code, out, errs := c.push(t, domainsDoc(c.origin.URL), "-m", "first", "-wait", "0s"); code != 0 || !strings.Contains(out, "version 1 stored") {
		t.Fatalf("push: %d %q %q", code, out, errs)
	}
	for _, e := range c.edges {
		waitFor(t, 20*time.Second, e.name+" to serve img.test", func() bool {
			e.p.mustRun(t)
			code, _, _, err := c.get(e, "img.test", "/ready.jpg")
			return err == nil && code == 200
		})
	}
	phase("nats-server, control plane and 3 edges up, version 1 served")
	for _, e := range c.edges { // cached everywhere before the kill: /a.jpg to be purged, /keep.jpg not
		for _, p := range []string{"/a.jpg", "/keep.jpg"} {
			c.mustGet(t, e, "img.test", p)
			if cs := c.mustGet(t, e, "img.test", p); !strings.Contains(cs, "hit") {
				t.Fatalf("%s: second GET %s: Cache-Status %q, want a hit", e.name, p, cs)
			}
		}
	}
	victim := c.edges[1]
	c.loadWhileKilling(t, victim)
	phase("load with " + victim.name + " killed in the middle")
	id := c.purgeWithOneDead(t, victim)
	phase("purge answered without " + victim.name)
	c.restartAppliesMissedPurge(t, victim, id)
	phase(victim.name + " restarted and applied the missed purge before serving")
	c.partition(t)
	phase("NATS stopped and restarted; a new version reached every edge")
	c.stopWithoutNATS(t)
	phase("every process stopped, the edges with NATS gone")
}

// loadWhileKilling sends a fixed number of requests from a few goroutines, spread over every
// edge, and kills victim once a third of them are answered: every other edge must answer
// every request.
func (c *mpCDN) loadWhileKilling(t *testing.T, victim *mpEdge) {
	t.Helper()
	const workers, perWorker = 4, 150
	const total = workers * perWorker
	var done atomic.Int64
	ok := make([]atomic.Int64, len(c.edges))
	failed := make([]atomic.Int64, len(c.edges))
	var mu sync.Mutex
	var survivorErrs []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := w*perWorker + i
				n := k % len(c.edges)
				e := c.edges[n]
				code, _, _, err := c.get(e, "img.test", fmt.Sprintf("/load/%d.jpg", k%20))
				switch {
				case err == nil && code == 200:
					ok[n].Add(1)
				case e != victim:
					mu.Lock()
					survivorErrs = append(survivorErrs, fmt.Sprintf("%s: %d %v", e.name, code, err))
					mu.Unlock()
					fallthrough
				default:
					failed[n].Add(1)
				}
				done.Add(1)
				time.Sleep(2 * time.Millisecond) // a pace, so that the kill lands in the middle
			}
		})
	}
	waitFor(t, 30*time.Second, "a third of the load", func() bool { return done.Load() >= total/3 })
	victim.p.kill(t)
	killedAt := done.Load()
	wg.Wait()
	c.client.CloseIdleConnections()
	t.Logf("load: %d requests, %s killed after %d; answered per edge %d %d %d, failed %d %d %d", total, victim.name, killedAt,
		ok[0].Load(), ok[1].Load(), ok[2].Load(), failed[0].Load(), failed[1].Load(), failed[2].Load())
	if len(survivorErrs) > 0 {
		t.Fatalf("%d requests to the edges left running failed, e.g. %s", len(survivorErrs), survivorErrs[0])
	}
	if killedAt >= total {
		t.Fatal("the load was over before the kill")
	}
	v := slices.Index(c.edges, victim)
	if ok[v].Load() == 0 || failed[v].Load() == 0 {
		t.Fatalf("%s answered %d and failed %d: the kill was not in the middle of its load", victim.name, ok[v].Load(), failed[v].Load())
	}
}

// purgeWithOneDead purges /a.jpg through the CLI: the edges alive acknowledge it, the killed
// one is still taken as live (it was heard within control.LostAfter) and did not answer, so the
// CLI exits 1 naming it. It returns the purge's ID.
func (c *mpCDN) purgeWithOneDead(t *testing.T, victim *mpEdge) string {
	t.Helper()
	code, out, errs := c.cli(t, "purge", "-timeout", "1s", "img.test/a.jpg")
	if code != 1 || !strings.Contains(out, "on 2 node(s)") ||
		!strings.Contains(errs, "1 live node(s) did not acknowledge: "+victim.name) {
		t.Fatalf("purge with %s dead: exit %d\n%s%s", victim.name, code, out, errs)
	}
	for _, e := range c.edges {
		line := grepLines(out, "  "+e.name+" ")
		want := "applied"
		if e == victim {
			want = "NO ANSWER"
		}
		if !strings.Contains(line, want) {
			t.Fatalf("purge: line of %s %q, want %q, in\n%s", e.name, line, want, out)
		}
	}
	for _, e := range c.edges {
		if e == victim {
			continue
		}
		if cs := c.mustGet(t, e, "img.test", "/a.jpg"); !strings.Contains(cs, "fwd=") {
			t.Fatalf("%s served %q after acknowledging the purge", e.name, cs)
		}
	}
	return purgeID(t, out)
}

// restartAppliesMissedPurge starts victim again on the cache directory it was killed with: it
// must apply the purge it missed before it serves (its first /a.jpg goes to the origin), keep
// what was not purged (/keep.jpg is a hit from the disk), and acknowledge the purge, late.
func (c *mpCDN) restartAppliesMissedPurge(t *testing.T, victim *mpEdge, id string) {
	t.Helper()
	before := c.origin.count("/a.jpg")
	c.startEdge(t, victim)
	waitFor(t, 40*time.Second, victim.name+"'s admin API after its restart", func() bool {
		victim.p.mustRun(t)
		return c.adminGet(victim, "/healthz") != "" // it listens after the missed purges are applied
	})
	if cs := c.mustGet(t, victim, "img.test", "/a.jpg"); !strings.Contains(cs, "fwd=") {
		t.Fatalf("%s served /a.jpg with Cache-Status %q after its restart: the purge it missed was not applied first", victim.name, cs)
	}
	if n := c.origin.count("/a.jpg"); n != before+1 {
		t.Fatalf("origin asked for /a.jpg %d times, want %d", n, before+1)
	}
	if cs := c.mustGet(t, victim, "img.test", "/keep.jpg"); !strings.Contains(cs, "hit") {
		t.Fatalf("%s: /keep.jpg after the restart: Cache-Status %q, want a hit from the disk cache", victim.name, cs)
	}
	waitFor(t, 10*time.Second, victim.name+"'s late acknowledgement", func() bool {
		var ans control.PurgeAnswer
		c.api(t, "/api/purge/"+id, &ans)
		for _, a := range ans.Acks {
			if a.Node == victim.name && a.Late && a.Error == "" {
				return true
			}
		}
		return false
	})
	c.waitReadyz(t, 10*time.Second, "control connected")
}

// partition stops NATS under the CDN: the edges go on serving, from the cache and from the
// origin, and say they are cut off; NATS returns on the same port and storage, the edges say
// they are connected again, and a version pushed then reaches every one of them: the
// configuration watch was set up again after the reconnection, not left dead.
func (c *mpCDN) partition(t *testing.T) {
	t.Helper()
	c.nats.kill(t)
	for _, e := range c.edges {
		if cs := c.mustGet(t, e, "img.test", "/keep.jpg"); !strings.Contains(cs, "hit") {
			t.Fatalf("%s without NATS: /keep.jpg %q, want a hit", e.name, cs)
		}
		if cs := c.mustGet(t, e, "img.test", "/partition-"+e.name+".jpg"); !strings.Contains(cs, "fwd=") {
			t.Fatalf("%s without NATS: a new URL %q, want it from the origin", e.name, cs)
		}
	}
	c.waitReadyz(t, 10*time.Second, "control disconnected since")
	waitFor(t, 10*time.Second, "the control plane to say NATS is gone", func() bool { return c.controlReadyz() == 503 })
	if code, _, _, _ := c.get(c.edges[0], "other.test", "/x.jpg"); code == 200 {
		t.Fatal("other.test served before it was configured")
	}
	c.startNATS(t)
	c.waitReadyz(t, 30*time.Second, "control connected")
	waitFor(t, 20*time.Second, "the control plane's NATS link", func() bool { return c.controlReadyz() == 200 })
	doc := strings.Replace(domainsDoc(c.origin.URL), "img.test", "img.test\n    aliases: [other.test]", 1)
	// Every node runs it within milliseconds; 5 s is ample, and shorter than a watch of the
	// control plane's own left dead by the restart would take to recover (10-15 s).
	code, out, errs := c.push(t, doc, "-m", "after the partition", "-wait", "5s")
	if code != 0 || !strings.Contains(out, "version 2 stored") || strings.Count(out, " running ") != len(c.edges) {
		t.Fatalf("push after the partition: exit %d\n%s%s", code, out, errs)
	}
	for _, e := range c.edges {
		waitFor(t, 10*time.Second, e.name+" to serve other.test", func() bool {
			code, _, _, err := c.get(e, "other.test", "/x.jpg")
			return err == nil && code == 200
		})
	}
}

// stopWithoutNATS stops NATS, then every edge and the control plane: with nothing to tell
// the control plane, a node still stops at once, not after a NATS request's timeout.
func (c *mpCDN) stopWithoutNATS(t *testing.T) {
	t.Helper()
	c.nats.stop(t, 10*time.Second)
	for _, e := range c.edges {
		e.p.stop(t, 3*time.Second)
	}
	c.control.stop(t, 3*time.Second)
}
