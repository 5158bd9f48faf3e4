package main

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/router"
)

// TestRouterFollowsControlPlane runs a router on the control plane's node list: the nodes'
// advertised addresses and admin /readyz probes, the domains of the current version.
func TestRouterFollowsControlPlane(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL)+"    aliases: [\"*.img.test.cdn.pixcdn.test\"]\n", "-wait", "0s")
	var nodes []running
	var stops []func() int
	for _, name := range []string{"r1", "r2"} {
		cfg := controlNode(t, name, s.NATSURL(), "")
		cfg.POP = "lab"
		r, stop := startServe(t, cfg)
		nodes, stops = append(nodes, r), append(stops, stop)
	}
	waitLive(t, s, 2)
	rt, err := router.New(router.Config{Zone: "cdn.pixcdn.test", Control: "http://" + s.Addr(), ControlToken: testControlToken,
		HTTPListen: "127.0.0.1:0", ProbeInterval: 100 * time.Millisecond, DefaultPOP: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(); err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	locate := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+rt.Addr("http")+path, nil)
		req.Host = "img.test"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	waitUntil(t, "the router to know both nodes healthy", func() bool {
		seen := map[string]bool{}
		for i := range 20 {
			if code, loc := locate("/p" + string(rune('a'+i)) + ".jpg"); code == http.StatusFound {
				seen[strings.SplitN(strings.TrimPrefix(loc, "http://"), ".", 2)[0]] = true
			}
		}
		return seen["r1"] && seen["r2"]
	})
	// The Location names the node under the domain and the zone, with its port; the node serves
	// it (the domain has the alias), straight from its listener.
	_, loc := locate("/a.jpg")
	var node running
	for _, n := range nodes {
		if strings.HasPrefix(loc, "http://r1.") && n.edge.Addr() == nodes[0].edge.Addr() || strings.HasPrefix(loc, "http://r2.") && n.edge.Addr() == nodes[1].edge.Addr() {
			node = n
		}
	}
	ap := netip.MustParseAddrPort(node.edge.Addr())
	if !strings.HasSuffix(loc, ".img.test.cdn.pixcdn.test:"+strconv.Itoa(int(ap.Port()))+"/a.jpg") {
		t.Fatalf("Location %q", loc)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+node.edge.Addr()+"/a.jpg", nil)
	req.Host = strings.Split(strings.TrimPrefix(loc, "http://"), "/")[0]
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the node does not serve its router name: %v %v", err, resp)
	}
	resp.Body.Close()
	// r1 stops: its URLs move to r2.
	stops[0]()
	waitUntil(t, "r1 to leave the answers", func() bool {
		for i := range 20 {
			if _, loc := locate("/p" + string(rune('a'+i)) + ".jpg"); strings.HasPrefix(loc, "http://r1.") {
				return false
			}
		}
		return true
	})
}
