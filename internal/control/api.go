package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/dashboard"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// API limits.
const (
	maxDocumentBytes    = 8 << 20
	maxRequestBytes     = 16 << 20
	maxWait             = 5 * time.Minute
	defaultPrefetchWait = 2 * time.Minute
)

func (s *Server) listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	s.ln = ln
	// Event streams end with the server's base context, which Shutdown cancels: Shutdown
	// waits for running handlers, and a stream would otherwise run until its client leaves.
	base, cancel := context.WithCancel(context.Background())
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base }}
	s.http.RegisterOnShutdown(cancel)
	go s.http.Serve(ln)
	s.log.Info("control: API listening", "addr", ln.Addr().String())
	return nil
}

// Handler is the control plane's HTTP API (docs/control-api.md). Every path but /healthz and
// /readyz needs the bearer token, checked before the path is looked up.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/nodes", s.apiNodes)
	mux.HandleFunc("GET /api/config", s.apiConfig)
	mux.HandleFunc("POST /api/config", s.apiPush)
	mux.HandleFunc("GET /api/config/history", s.apiHistory)
	mux.HandleFunc("GET /api/config/versions/{version}", s.apiConfig)
	mux.HandleFunc("POST /api/config/rollback", s.apiRollback)
	mux.HandleFunc("POST /api/purge", s.apiPurge)
	mux.HandleFunc("GET /api/purge/{id}", s.apiPurgeStatus)
	mux.HandleFunc("POST /api/prefetch", s.apiPrefetch)
	mux.Handle("GET /api/stats", s.stats.Handler())
	mux.HandleFunc("GET /api/probe", s.apiProbe)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		admin.WriteError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	bearer := admin.NewBearer(s.cfg.Token)
	page := dashboard.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/assets/") {
			page.ServeHTTP(w, r) // the page is public; what it shows comes through the API, with the token
			return
		}
		switch r.URL.Path {
		case "/healthz":
			io.WriteString(w, "ok\n")
			return
		case "/readyz":
			s.readyz(w)
			return
		}
		if !bearer.Allows(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pixcdn-control"`)
			admin.WriteError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.nc.IsConnected() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\nnats disconnected\n")
		return
	}
	live, away := s.liveNodes()
	fmt.Fprintf(w, "ready\nnats %s\nnodes_live %d\nnodes_away %d\n", s.nc.ConnectedUrlRedacted(), len(live), len(away))
}

func (s *Server) apiNodes(w http.ResponseWriter, r *http.Request) {
	admin.WriteJSON(w, http.StatusOK, map[string]any{"nodes": s.Nodes()})
}

// apiConfig serves the current version, or the one in the path.
func (s *Server) apiConfig(w http.ResponseWriter, r *http.Request) {
	var rev uint64
	if v := r.PathValue("version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			admin.WriteError(w, http.StatusBadRequest, fmt.Sprintf("version %q: want a positive number", v))
			return
		}
		rev = n
	}
	got, v, err := s.Version(r.Context(), rev)
	if err != nil {
		s.versionError(w, err)
		return
	}
	if wantsYAML(r) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("X-Pixcdn-Version", strconv.FormatUint(got, 10))
		io.WriteString(w, v.YAML)
		return
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"version": got, "sha256": v.SHA256, "pushed": v.Pushed,
		"message": v.Message, "rollback_of": v.RollbackOf, "yaml": v.YAML})
}

func wantsYAML(r *http.Request) bool {
	return r.URL.Query().Get("format") == "yaml" || strings.Contains(r.Header.Get("Accept"), "yaml")
}

func (s *Server) versionError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNoVersion) {
		admin.WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	admin.WriteError(w, http.StatusBadGateway, err.Error())
}

// apiPush stores the YAML body as the next version, after validating it; with ?wait=DUR it
// answers once every live node runs it (or refused it), naming each.
func (s *Server) apiPush(w http.ResponseWriter, r *http.Request) {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDocumentBytes))
	if err != nil {
		admin.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("document larger than %d bytes", maxDocumentBytes))
		return
	}
	q := r.URL.Query()
	name := q.Get("file")
	if name == "" {
		name = "pushed document"
	}
	wait, err := waitParam(q.Get("wait"), 0)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	rev, err := s.Push(r.Context(), doc, name, q.Get("message"))
	s.answerVersion(w, r, rev, err, start, wait)
}

func (s *Server) apiRollback(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version uint64 `json:"version"`
		Message string `json:"message"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Version == 0 {
		admin.WriteError(w, http.StatusBadRequest, `rollback: "version" is required`)
		return
	}
	wait, err := waitParam(r.URL.Query().Get("wait"), 0)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	rev, err := s.Rollback(r.Context(), req.Version, req.Message)
	s.answerVersion(w, r, rev, err, start, wait)
}

func (s *Server) answerVersion(w http.ResponseWriter, r *http.Request, rev uint64, err error, start time.Time, wait time.Duration) {
	switch {
	case errors.Is(err, ErrInvalid):
		admin.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "configuration refused", "problems": problems(err)})
		return
	case err != nil:
		s.versionError(w, err)
		return
	}
	ans := map[string]any{"version": rev}
	if wait > 0 {
		nodes := s.WaitVersion(r.Context(), rev, wait)
		ans["nodes"], ans["ms"] = nodes, ms(time.Since(start))
	}
	admin.WriteJSON(w, http.StatusOK, ans)
}

// problems lists the lines of a refusal, one problem each.
func problems(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != ErrInvalid.Error()+":" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	h, err := s.History(r.Context())
	if err != nil {
		admin.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"versions": h, "keeps": ConfigHistory})
}

// apiPurge serves POST /api/purge: the body is a purge (id and issued may be left out).
func (s *Server) apiPurge(w http.ResponseWriter, r *http.Request) {
	var p purge.Purge
	if err := decodeJSON(w, r, &p); err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.ID == "" {
		p.ID = purge.NewID()
	}
	if p.Issued.IsZero() {
		p.Issued = time.Now()
	}
	if err := p.Validate(); err != nil {
		admin.WriteError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), purge.ErrBad.Error()+": "))
		return
	}
	timeout, err := waitParam(r.URL.Query().Get("timeout"), s.cfg.PurgeTimeout)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ans, err := s.Purge(r.Context(), p, timeout)
	if err != nil {
		admin.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	admin.WriteJSON(w, http.StatusOK, ans)
}

func (s *Server) apiPurgeStatus(w http.ResponseWriter, r *http.Request) {
	ans, ok := s.PurgeStatus(r.PathValue("id"))
	if !ok {
		admin.WriteError(w, http.StatusNotFound, "no recent purge with that id")
		return
	}
	admin.WriteJSON(w, http.StatusOK, ans)
}

func (s *Server) apiPrefetch(w http.ResponseWriter, r *http.Request) {
	var req admin.PrefetchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(req.URLs) == 0 {
		admin.WriteError(w, http.StatusBadRequest, `prefetch: no urls (body: {"urls": ["https://..."]})`)
		return
	}
	for i, u := range req.URLs {
		if strings.TrimSpace(u) == "" {
			admin.WriteError(w, http.StatusBadRequest, fmt.Sprintf("prefetch: urls[%d] is empty", i))
			return
		}
	}
	timeout, err := waitParam(r.URL.Query().Get("timeout"), defaultPrefetchWait)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ans, err := s.Prefetch(r.Context(), req.URLs, timeout)
	if err != nil {
		admin.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	admin.WriteJSON(w, http.StatusOK, ans)
}

// waitParam parses a duration parameter (e.g. "5s"), def when empty.
func waitParam(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxWait {
		return 0, fmt.Errorf("%q: want a duration from 0s to %v", v, maxWait)
	}
	return d, nil
}

// decodeJSON decodes r's body strictly: unknown fields and trailing data are errors.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	if dec.More() {
		return errors.New("bad JSON body: data after the object")
	}
	return nil
}

// maxProbeBytes bounds what GET /api/probe relays.
const maxProbeBytes = 32 << 20

// apiProbe fetches a path from one known node with a Host of the operator's choice and relays
// the answer, for the dashboard's image playground: its status and Cache-Status in
// X-Pixcdn-Probe-* headers, its body and Content-Type as they are. Only the nodes' own
// addresses can be asked, so the control plane cannot be made to fetch anything else.
func (s *Server) apiProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var addr string
	for _, n := range s.Nodes() {
		if n.Node == q.Get("node") {
			addr = nodeHTTPAddr(n.NodeStatus)
		}
	}
	path := q.Get("path")
	if addr == "" || !strings.HasPrefix(path, "/") {
		admin.WriteError(w, http.StatusBadRequest, "probe: want node (a known node with an HTTP listener), host and path (starting with /)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Host = q.Get("host")
	req.Header.Set("Accept", r.Header.Get("Accept"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		admin.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	h.Set("Content-Type", resp.Header.Get("Content-Type"))
	h.Set("X-Pixcdn-Probe-Status", strconv.Itoa(resp.StatusCode))
	h.Set("X-Pixcdn-Probe-Cache-Status", resp.Header.Get("Cache-Status"))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if resp.StatusCode != http.StatusOK {
		w.WriteHeader(http.StatusBadGateway)
	}
	io.Copy(w, io.LimitReader(resp.Body, maxProbeBytes))
}

// nodeHTTPAddr is where the control plane reaches a node's client listener: its HTTP address,
// on its advertised IP when it listens on every address.
func nodeHTTPAddr(st NodeStatus) string {
	host, port, err := net.SplitHostPort(st.HTTP)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if len(st.Advertise) > 0 {
			host = st.Advertise[0]
		}
	}
	return net.JoinHostPort(host, port)
}
