package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pixcdn/pixcdn/internal/demo"
	"github.com/pixcdn/pixcdn/internal/purge"
	"github.com/pixcdn/pixcdn/internal/testenv"
)

// needChromium finds Debian's chromium (a failure without it: testenv.MissingTool).
func needChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.MissingTool(t, "chromium is not installed: sudo apt-get install chromium")
	return ""
}

// startDemo runs the whole-CDN demo on ephemeral ports until the test ends.
func startDemo(t *testing.T) *demoCDN {
	t.Helper()
	dir := t.TempDir()
	var logs syncBuffer
	d := &demoCDN{host: "127.0.0.1", dir: dir, siteDir: filepath.Join(dir, "site"), token: purge.NewID(), secret: purge.NewID(),
		stdout: &logs, stderr: &logs, nodeLogs: &logs}
	if err := demo.WriteSite(d.siteDir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan int, 1)
	go func() { done <- d.run(ctx, func(*demoCDN) { close(ready) }) }()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("demo exited with %d: %s", code, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	})
	return d
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDashboardInBrowser drives the dashboard in headless Chromium against the running demo:
// the charts move under load, a purge from the form shows every node's acknowledgement and the
// next request misses, the playground's output changes with a parameter, and the console has
// no error, at 1280 and at 390 pixels wide. PIXCDN_SCREENSHOTS=DIR writes the views' screenshots.
func TestDashboardInBrowser(t *testing.T) {
	chrome := needChromium(t)
	d := startDemo(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()
	var mu sync.Mutex
	var consoleErrors []string
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				consoleErrors = append(consoleErrors, fmt.Sprint(ev.Args))
			}
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, ev.ExceptionDetails.Text)
		}
	}
	if err := chromedp.Listen(ctx, listen); err != nil {
		t.Fatal(err)
	}
	page := "http://" + d.ctl.Addr() + "/"
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	poll := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", expr, err)
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	shot := func(name string) {
		t.Helper()
		dir := os.Getenv("PIXCDN_SCREENSHOTS")
		if dir == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do("log in", chromedp.Navigate(page), chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#token"), d.token), chromedp.Click(css(`#login-form button[type="submit"]`)), chromedp.WaitVisible(css("#charts .chart")))

	// Load through the nodes; the requests/s chart's value moves off zero within seconds.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n := d.nodes[1+i%4]
			if resp, err := http.Get("http://" + n.listen + "/style.css"); err == nil {
				resp.Body.Close()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	chartValue := func() string { return eval(`document.querySelector('[data-chart="rps"]').dataset.value || ""`) }
	deadline := time.Now().Add(20 * time.Second)
	first := chartValue()
	for v := first; v == "" || v == "0" || v == first; v = chartValue() {
		if time.Now().After(deadline) {
			t.Fatalf("the requests/s chart stayed at %q", v)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The top URLs, over every node: the one under load.
	poll(`document.getElementById("top-urls").innerText.includes("/style.css")`)
	// Drawn: the chart's line has a point per second seen.
	poll(`document.querySelector('[data-chart="rps"] polyline').getAttribute("points").split(" ").length >= 3`)
	shot("dashboard-traffic")

	// Nodes by POP.
	do("nodes", chromedp.Click(css(`#tabs [data-tab="nodes"]`)), chromedp.WaitVisible(css(`#pops .pop`)))
	nodesText := eval(`document.getElementById("pops").innerText`)
	for _, want := range []string{"POP pop-a", "POP pop-b", "demo-a1", "demo-parent", "live"} {
		if !strings.Contains(nodesText, want) {
			t.Errorf("nodes view lacks %q: %q", want, nodesText)
		}
	}
	shot("dashboard-nodes")

	// A purge from the form: every node's acknowledgement shows; the next request misses.
	get(t, d.nodes[1].listen, "/app.js")
	do("purge", chromedp.Click(css(`#tabs [data-tab="purge"]`)), chromedp.WaitVisible(css("#purge-form")),
		chromedp.SendKeys(css("#purge-targets"), "any/app.js"), chromedp.Click(css(`#purge-form button[type="submit"]`)),
		chromedp.WaitVisible(css(`#purge-summary.good`)))
	if acks := eval(`String(document.querySelectorAll("#purge-acks tbody tr[data-node]").length)`); acks != "5" {
		t.Errorf("%s acknowledgements shown, want 5", acks)
	}
	if _, _, cs := get(t, d.nodes[1].listen, "/app.js"); !strings.Contains(cs, "fwd=") {
		t.Errorf("after the purge from the form: Cache-Status %q", cs)
	}
	shot("dashboard-purge")

	// Configuration: the current version and its history.
	do("config", chromedp.Click(css(`#tabs [data-tab="config"]`)), chromedp.WaitVisible(css(`#versions tbody tr`)))
	poll(`document.getElementById("doc").value.includes("domains:")`)
	shot("dashboard-config")

	// The playground: a narrower output is fewer bytes.
	bytesOut := func() int {
		n, _ := strconv.Atoi(eval(`document.getElementById("cap-out").dataset.bytes || "0"`))
		return n
	}
	do("playground", chromedp.Click(css(`#tabs [data-tab="images"]`)), chromedp.WaitVisible(css("#play-form")))
	poll(`Number(document.getElementById("cap-out").dataset.bytes) > 0`)
	wide := bytesOut()
	do("narrower", chromedp.SetValue(css("#play-w"), "120"))
	eval(`document.getElementById("play-w").dispatchEvent(new Event("change")), ""`)
	poll(fmt.Sprintf(`Number(document.getElementById("cap-out").dataset.bytes) > 0 && document.getElementById("cap-out").dataset.bytes != "%d"`, wide))
	if narrow := bytesOut(); narrow >= wide {
		t.Errorf("w=120 gave %d bytes, w=480 %d", narrow, wide)
	}
	if oss := eval(`document.getElementById("url-oss").textContent`); !strings.Contains(oss, "x-oss-process=image/resize,m_lfit,w_120") {
		t.Errorf("object-storage URL %q", oss)
	}
	shot("dashboard-images")

	// Narrow: the page still works at 390 px (no horizontal scroll of the whole page).
	do("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Click(css(`#tabs [data-tab="traffic"]`)), chromedp.WaitVisible(css("#charts")))
	if overflow := eval(`String(document.documentElement.scrollWidth > window.innerWidth + 1)`); overflow != "false" {
		t.Error("at 390 px the page scrolls sideways")
	}
	shot("dashboard-mobile")

	// The sample page, through the router: each row has the Cache-Status of the browser's own
	// load (the node and the caches it came through), and the page links the dashboard.
	do("sample page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate("http://"+d.rt.Addr("http")+"/"),
		chromedp.WaitVisible(css("#status tbody tr")))
	poll(`[...document.querySelectorAll("#status tbody tr td:nth-child(5)")].some((td) => /demo-a[12]; (hit|fwd)/.test(td.textContent))`)
	if href := eval(`document.getElementById("dashboard").hidden ? "" : document.getElementById("dashboard").href`); href != page {
		t.Errorf("dashboard link %q, want %q", href, page)
	}
	shot("demo-page")
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors: %v", consoleErrors)
	}
}
