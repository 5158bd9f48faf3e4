package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/internal/demo"
)

// workload is one of the four transforms of issue 14 section 4.
type workload struct {
	letter, name string
	src          string // file in the sources directory
	width        int    // output width; the height follows the aspect ratio
	format       string // jpeg | webp | avif
	quality      int
}

var workloads = []workload{
	{"a", "a-jpeg-300", "photo.jpg", 300, "jpeg", 80},
	{"b", "b-webp-300", "photo.jpg", 300, "webp", 80},
	{"c", "c-avif-300", "photo.jpg", 300, "avif", 60},
	{"d", "d-png-alpha-webp-512", "alpha.png", 512, "webp", 80},
}

var contentTypes = map[string]string{"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}

// server is one of the two programs measured: its process and how to ask it for a workload.
type server struct {
	name string
	proc *children.Proc
	url  func(c workload, n int64) string // n makes the URL distinct
	info string                           // how it was started, for the report
}

// prepareSources returns the directory both servers read: the demo site's images copied as
// photo.jpg and alpha.png, or a directory given that holds them.
func prepareSources(work, spec string) (dir, note string, err error) {
	if spec != "demo" {
		for _, f := range []string{"photo.jpg", "alpha.png"} {
			if _, err := os.Stat(filepath.Join(spec, f)); err != nil {
				return "", "", fmt.Errorf("sources: %w", err)
			}
		}
		abs, err := filepath.Abs(spec)
		return abs, "the files of " + spec, err
	}
	site := filepath.Join(work, "site")
	if err := demo.WriteSite(site); err != nil {
		return "", "", err
	}
	dir = filepath.Join(work, "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	for dst, src := range map[string]string{"photo.jpg": "img/lake-2000x1500.jpg", "alpha.png": "img/badge-1024x768.png"} {
		b, err := os.ReadFile(filepath.Join(site, src))
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			return "", "", err
		}
	}
	return dir, "the demo site's painted lake photo (img/lake-2000x1500.jpg) and alpha badge (img/badge-1024x768.png)", nil
}

// startPixcdn runs `pixcdn edge` with a directory origin that forbids storing anything.
func startPixcdn(work, name, bin, srcDir string) (*server, error) {
	port, admin := freePort(), freePort()
	cfg := fmt.Sprintf(`listen: "127.0.0.1:%d"
admin:
  listen: "127.0.0.1:%d"
cache:
  dir: %q
images:
  workers: %d
domains:
  - name: "*"
    origin:
      root: %q
      cache_control: "no-store"
`, port, admin, filepath.Join(work, name+"-cache"), *workers, srcDir)
	path := filepath.Join(work, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(name, filepath.Join(work, name+".log"), nil, bin, "edge", "-config", path)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(p, fmt.Sprintf("http://127.0.0.1:%d/healthz", admin)); err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	return &server{
		name: name, proc: p,
		info: fmt.Sprintf("`pixcdn edge` from %s (images.workers %d, default queue; origin.root with `Cache-Control: no-store`)", filepath.Base(bin), *workers),
		url:  pixcdnURL(base),
	}, nil
}

// startImgproxy runs imgproxy on the same directory, unsigned, with pixcdn's encoder settings.
func startImgproxy(work, bin, srcDir string) (*server, error) {
	port := freePort()
	env := []string{
		fmt.Sprintf("IMGPROXY_BIND=127.0.0.1:%d", port),
		"IMGPROXY_LOCAL_FILESYSTEM_ROOT=" + srcDir,
		fmt.Sprintf("IMGPROXY_WORKERS=%d", *workers),
		fmt.Sprintf("IMGPROXY_AVIF_SPEED=%d", 9-*avifEffort),
		"IMGPROXY_WEBP_EFFORT=4",
		"MALLOC_ARENA_MAX=2", // imgproxy's own Docker image sets it
		"IMGPROXY_LOG_LEVEL=warn",
	}
	for _, kv := range strings.Split(*imgproxyEnv, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			env = append(env, kv)
		}
	}
	p, err := startProc("imgproxy", filepath.Join(work, "imgproxy.log"), env, bin)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(p, base+"/health"); err != nil {
		return nil, err
	}
	return &server{
		name: "imgproxy", proc: p,
		info: "imgproxy " + version(bin) + " (" + strings.Join(env[2:], ", ") + ")",
		url:  imgproxyURL(base),
	}, nil
}

// pixcdnURL asks for a workload in the imgix dialect; cb makes the URL distinct (other
// parameters stay part of the source's URL, and a directory origin ignores the query).
func pixcdnURL(base string) func(c workload, n int64) string {
	return func(c workload, n int64) string {
		return fmt.Sprintf("%s/%s?w=%d&fm=%s&q=%d&cb=%d", base, c.src, c.width, extension(c.format), c.quality, n)
	}
}

// imgproxyURL asks for a workload unsigned ("_" for the signature: no key is set), the
// format as the extension; cachebuster makes the URL distinct.
func imgproxyURL(base string) func(c workload, n int64) string {
	return func(c workload, n int64) string {
		return fmt.Sprintf("%s/_/rs:fit:%d:0/q:%d/cb:%d/plain/local:///%s@%s", base, c.width, c.quality, n, c.src, extension(c.format))
	}
}

func extension(format string) string {
	if format == "jpeg" {
		return "jpg"
	}
	return format
}

func version(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// startProc starts bin with args and extra environment, its output to logPath.
func startProc(name, logPath string, env []string, bin string, args ...string) (*children.Proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	p, err := children.Start(name, cmd, lf)
	if err != nil {
		lf.Close()
	}
	return p, err
}

// waitHTTP waits up to 30 s for url to answer 200, or for the process to die.
func waitHTTP(p *children.Proc, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-p.Done:
			return fmt.Errorf("%s exited before answering (see its log)", p.Name)
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer 200 within 30 s", p.Name, url)
		case <-tick.C:
		}
	}
}

// freePort is a loopback TCP port free right now.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
