// Command dashboard measures the control plane's dashboard: the bytes of its page, the time
// from opening it to its first chart, and the control plane's CPU with the page open while
// nodes report their stats. The control plane and the nodes are real processes (pixcdn control,
// pixcdn edge -nats); the page runs in headless Chromium (chromedp).
//
//	go run ./bench/cmd/dashboard [-bin bin/pixcdn] [-nodes 5] [-d 30s]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pixcdn/pixcdn/internal/dashboard"
)

func main() {
	bin := flag.String("bin", "", "a prebuilt pixcdn (default: built from this tree)")
	nodes := flag.Int("nodes", 5, "edge nodes reporting")
	dur := flag.Duration("d", 30*time.Second, "how long the page stays open while the CPU is measured")
	loads := flag.Int("loads", 5, "page loads timed to the first chart")
	flag.Parse()
	if err := run(*bin, *nodes, *dur, *loads); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}

func run(bin string, nodes int, dur time.Duration, loads int) error {
	dir, err := os.MkdirTemp("", "pixcdn-dashboard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "pixcdn")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/pixcdn").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, natsAddr := freeAddr(), freeAddr()
	const token = "dashboard-bench-token"
	ctl, err := start(ctx, dir, "control", bin, "control", "-listen", api, "-data", filepath.Join(dir, "ctl"), "-token", token, "-nats-listen", natsAddr)
	if err != nil {
		return err
	}
	if err := waitHTTP("http://" + api + "/healthz"); err != nil {
		return err
	}
	site := filepath.Join(dir, "site")
	os.MkdirAll(site, 0o755)
	os.WriteFile(filepath.Join(site, "a.txt"), []byte("hello"), 0o644)
	doc := fmt.Sprintf("domains:\n  - name: \"*\"\n    origin: {root: %q}\n", site)
	req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/api/config?wait=0s", strings.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("push: %v %v", err, resp)
	}
	var edges []string
	for i := range nodes {
		addr := freeAddr()
		if _, err := start(ctx, dir, fmt.Sprintf("edge-%d", i), bin, "edge", "-nats", "nats://"+natsAddr, "-node-name", fmt.Sprintf("n%d", i),
			"-pop", fmt.Sprintf("p%d", i%2), "-listen", addr); err != nil {
			return err
		}
		edges = append(edges, addr)
	}
	for _, e := range edges {
		if err := waitHTTP("http://" + e + "/a.txt"); err != nil {
			return err
		}
	}
	// A little traffic, so the charts have something to draw.
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			if resp, err := http.Get("http://" + edges[i%len(edges)] + "/a.txt"); err == nil {
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	fmt.Printf("## Dashboard, %d nodes reporting\n\n", nodes)
	fmt.Printf("- page assets: %d bytes (index.html, app.js, style.css; no other request but the API)\n", dashboard.Size())
	browser, cancelB, err := openBrowser()
	if err != nil {
		return err
	}
	defer cancelB()
	var firsts []time.Duration
	for range loads {
		d, err := firstChart(browser, "http://"+api+"/", token)
		if err != nil {
			return err
		}
		firsts = append(firsts, d)
	}
	fmt.Printf("- page load to the first chart drawn (a line of 2 points: two seconds of stats): %v\n", firsts)
	closed, err := cpuOver(ctl.Process.Pid, dur/2)
	if err != nil {
		return err
	}
	tab, cancelTab := chromedp.NewContext(browser) // the page open, as an operator keeps it
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate("http://"+api+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#charts .chart"))); err != nil {
		return err
	}
	open, err := cpuOver(ctl.Process.Pid, dur)
	if err != nil {
		return err
	}
	fmt.Printf("- control plane CPU with the page open: %.2f %% of one core over %v; with no page open: %.2f %% (over %v)\n", open, dur, closed, dur/2)
	return nil
}

// firstChart opens the page in a new tab, logs in, and times until the first chart has a line.
func firstChart(browser context.Context, url, token string) (time.Duration, error) {
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	tctx, cancelT := context.WithTimeout(tab, 60*time.Second)
	defer cancelT()
	start := time.Now()
	err := chromedp.Do(tctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)))
	if err == nil {
		_, err = chromedp.Run(tctx, chromedp.Poll[bool](`(document.querySelector('[data-chart="rps"] polyline') || {getAttribute: () => ""}).getAttribute("points").split(" ").length >= 2`))
	}
	return time.Since(start).Round(time.Millisecond), err
}

// openBrowser starts headless Chromium and keeps one tab with the page open (as an operator
// would) while the CPU is measured.
func openBrowser() (context.Context, context.CancelFunc, error) {
	path := ""
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, nil, errors.New("chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelC()
		cancelA()
		return nil, nil, err
	}
	return ctx, func() { cancelC(); cancelA() }, nil
}

// cpuOver is the CPU a process used over d, in percent of one core.
func cpuOver(pid int, d time.Duration) (float64, error) {
	a, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	return 100 * float64(b-a) / 100 / d.Seconds(), nil // USER_HZ is 100 on Linux
}

func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64) // utime, stime: fields 14 and 15
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

func start(ctx context.Context, dir, name, bin string, args ...string) (*exec.Cmd, error) {
	lf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait()
	return cmd, nil
}

func waitHTTP(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
