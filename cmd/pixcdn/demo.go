package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/demo"
)

// cmdDemo starts an edge in front of the bundled sample site. The site and the disk cache live
// under the user's cache directory, so a second start finds the first one's cache.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pixcdn demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "listen `ADDR` (use :8080 to accept other machines)")
	dir := fs.String("dir", defaultDemoDir(), "`DIR` for the sample site and the disk cache")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	siteDir, cacheDir := filepath.Join(*dir, "site"), filepath.Join(*dir, "cache")
	fmt.Fprintf(stdout, "pixcdn demo: preparing the sample site in %s ...\n", siteDir)
	if err := demo.WriteSite(siteDir); err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	cfg, err := config.Parse(demo.Config(*listen, siteDir, cacheDir), "(demo)")
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	return serveUntilSignal(cfg, stderr, func(r running) {
		base := "http://" + browsable(r.edge.Addr())
		fmt.Fprintf(stdout, `
pixcdn demo is running. Open:

  %[1]s/                       the sample page (reload it: the second load comes from the cache)
  %[1]s/img/lake-2000x1500.jpg  one photo

See what the edge did:

  curl -sI %[1]s/style.css | grep -iE 'cache-status|age'

Stop with Ctrl-C.
`, base)
	})
}

func defaultDemoDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pixcdn-demo")
	}
	return filepath.Join(os.TempDir(), "pixcdn-demo")
}

// browsable turns a bound address into one a browser can open (":8080" → "localhost:8080").
func browsable(addr string) string {
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") || strings.HasPrefix(addr, ":") {
		return "localhost:" + addr[strings.LastIndex(addr, ":")+1:]
	}
	return addr
}
