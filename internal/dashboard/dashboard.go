// Package dashboard is the operator's web page of the control plane: live charts of the CDN's
// traffic per domain and node, the nodes by POP, purge and prefetch forms that show each node's
// acknowledgement as it arrives, the configuration's versions with diffs and rollback, and an
// image playground. The page and its script are embedded in the binary and need nothing from
// the network; the charts are SVG drawn by the page's own script. The page itself is public;
// everything it shows or does goes through the control plane's API with the operator's token.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Handler serves the page at "/" and its files under "/assets/".
func Handler() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' http: https: data: blob:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" { // the file server would redirect /index.html to /
			page, _ := assets.ReadFile("assets/index.html")
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.Write(page)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok {
			r2 := *r
			u := *r.URL
			u.Path = "/" + rest
			r2.URL = &u
			files.ServeHTTP(w, &r2)
			return
		}
		http.NotFound(w, r)
	})
}

// Size is the bytes of the page's files, for the benchmarks.
func Size() int64 {
	var n int64
	fs.WalkDir(assets, "assets", func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
