package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/demo"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// cmdDemo starts the whole CDN (or with -single one edge) in front of the bundled sample site.
// The site and the disk caches live under the user's cache directory, so a second start finds
// the first one's caches.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pixcdn demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "listen `ADDR` of the router (the nodes and the control plane on the ports after it); with -single the edge's, with -nodes the first node's")
	dir := fs.String("dir", defaultDemoDir(), "`DIR` for the sample site and the disk caches")
	single := fs.Bool("single", false, "one edge node alone in front of the sample site, instead of the whole CDN")
	nodes := fs.Int("nodes", 0, "`N` edge nodes in one POP behind a parent node (on the ports after -listen's), no control plane or router")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	switch {
	case *nodes > 1:
		return demoPOP(*nodes, *listen, *dir, stdout, stderr)
	case !*single:
		return cmdDemoCDN(*listen, filepath.Join(*dir, "cdn"), stdout, stderr)
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

// demoPOP runs a POP of n edge nodes that share one cache, behind a parent node in front of the
// sample site, all on loopback: the nodes on the ports after listen's, the parent on the next.
func demoPOP(n int, listen, dir string, stdout, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(listen)
	base, perr := strconv.Atoi(port)
	if err != nil || perr != nil || base == 0 {
		fmt.Fprintln(stderr, "pixcdn demo: -nodes needs -listen HOST:PORT with a port")
		return 2
	}
	siteDir := filepath.Join(dir, "site")
	fmt.Fprintf(stdout, "pixcdn demo: preparing the sample site in %s ...\n", siteDir)
	if err := demo.WriteSite(siteDir); err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	secret := purge.NewID() // a fresh one each run: only these processes' nodes can ask each other
	ports, err := freePorts(2*n + 1)
	if err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	parentPeer := net.JoinHostPort("127.0.0.1", ports[0])
	var cfgs []*config.Config
	add := func(name, listen, cluster string) error {
		doc := bytes.Replace(demo.Config(listen, siteDir, filepath.Join(dir, "cache-"+name)), []byte("node_name: pixcdn-demo"), []byte("node_name: "+name), 1)
		doc = append(doc, "cluster:\n  secret: "+secret+"\n"+cluster...)
		cfg, err := config.Parse(doc, "(demo "+name+")")
		cfgs = append(cfgs, cfg)
		return err
	}
	if err := add("demo-parent", net.JoinHostPort(host, strconv.Itoa(base+n)), "  peer_listen: "+parentPeer+"\n"); err != nil {
		fmt.Fprintln(stderr, "pixcdn demo:", err)
		return 1
	}
	seed := net.JoinHostPort("127.0.0.1", ports[1])
	for i := range n {
		cl := fmt.Sprintf("  peer_listen: 127.0.0.1:%s\n  bind: 127.0.0.1:%s\n  parents: [\"http://%s\"]\n", ports[2+2*i], ports[1+2*i], parentPeer)
		if i > 0 {
			cl += "  join: [\"" + seed + "\"]\n"
		}
		if err := add(fmt.Sprintf("demo-%d", i+1), net.JoinHostPort(host, strconv.Itoa(base+i)), cl); err != nil {
			fmt.Fprintln(stderr, "pixcdn demo:", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	addrs := make([]string, len(cfgs))
	started := make(chan int, len(cfgs))
	code := 0
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c := serve(ctx, cfg, stderr, func(r running) { addrs[i] = r.edge.Addr(); started <- i }); c != 0 {
				mu.Lock()
				code = c
				mu.Unlock()
				stop()
			}
		}()
		select { // one after the other: the parent first (the nodes ask it), then the seed
		case <-started:
		case <-ctx.Done():
		}
	}
	if ctx.Err() == nil {
		fmt.Fprintf(stdout, "\npixcdn demo is running: a POP of %d nodes sharing one cache, behind a parent node.\n\n", n)
		for i := 1; i < len(cfgs); i++ {
			fmt.Fprintf(stdout, "  http://%s/    %s\n", browsable(addrs[i]), cfgs[i].NodeName)
		}
		fmt.Fprintf(stdout, "  http://%s/    %s (in front of the sample site)\n", browsable(addrs[0]), cfgs[0].NodeName)
		fmt.Fprintf(stdout, `
Open one node's page, then another's: each object is fetched once for the POP, by the node that
owns it (Cache-Status lists the caches an answer came through, the one nearest the site first).

  curl -sI http://%s/style.css | grep -i cache-status

Stop with Ctrl-C.
`, browsable(addrs[1]))
	}
	wg.Wait()
	return code
}

// freePorts finds n free TCP ports on loopback (they are used at once).
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	out := make([]string, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		_, out[i], _ = net.SplitHostPort(ln.Addr().String())
	}
	return out, nil
}
