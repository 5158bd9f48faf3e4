package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// handler routes the admin API. It is its own small router, not http.ServeMux, so that the
// token is checked before a path is looked up (an unauthenticated caller learns nothing, not
// even which paths exist) and so that 404 and 405 answer JSON like everything else.
type handler struct {
	cfg    Config
	edge   Edge
	token  Bearer
	routes map[string]route
}

type route struct {
	method string
	open   bool // served without a token (health checks)
	serve  http.HandlerFunc
}

func newHandler(cfg Config, e Edge) *handler {
	h := &handler{cfg: cfg, edge: e, token: NewBearer(cfg.Token)}
	h.routes = map[string]route{
		"/healthz":  {http.MethodGet, true, h.healthz},
		"/readyz":   {http.MethodGet, true, h.readyz},
		"/purge":    {http.MethodPost, false, h.purge},
		"/prefetch": {http.MethodPost, false, h.prefetch},
		"/reload":   {http.MethodPost, false, h.reload},
	}
	if cfg.Metrics != nil {
		h.routes["/metrics"] = route{http.MethodGet, false, cfg.Metrics.ServeHTTP}
	}
	if cfg.Stats != nil {
		h.routes["/stats"] = route{http.MethodGet, false, h.stats}
	}
	h.addProfiling()
	return h
}

// addProfiling serves the Go runtime's profiles and execution trace under /debug/pprof/, behind
// the token like everything else: what an operator needs to see where a node's CPU, memory
// or latency goes under real traffic (go tool pprof URL, go tool trace).
func (h *handler) addProfiling() {
	h.routes["/debug/pprof/"] = route{http.MethodGet, false, pprof.Index}
	h.routes["/debug/pprof/cmdline"] = route{http.MethodGet, false, pprof.Cmdline}
	h.routes["/debug/pprof/profile"] = route{http.MethodGet, false, pprof.Profile}
	h.routes["/debug/pprof/symbol"] = route{http.MethodGet, false, pprof.Symbol}
	h.routes["/debug/pprof/trace"] = route{http.MethodGet, false, pprof.Trace}
	for _, name := range []string{"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"} {
		h.routes["/debug/pprof/"+name] = route{http.MethodGet, false, pprof.Handler(name).ServeHTTP}
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, known := h.routes[r.URL.Path]
	if !(known && rt.open) && !h.authorized(r) {
		h.unauthorized(w, r)
		return
	}
	if !known {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no admin endpoint %s", r.URL.Path))
		return
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s needs %s", r.URL.Path, rt.method))
		return
	}
	rt.serve(w, r)
}

// authorized reports whether r carries the configured bearer token (always, when none is).
func (h *handler) authorized(r *http.Request) bool {
	return h.cfg.Token == "" || h.token.Allows(r)
}

// Bearer checks an RFC 6750 bearer token. It holds the token's hash: hashing both sides
// first keeps the comparison's time independent of the token's length.
type Bearer [sha256.Size]byte

// NewBearer makes the check for token.
func NewBearer(token string) Bearer { return sha256.Sum256([]byte(token)) }

// Allows reports whether r's Authorization header carries the token.
func (b Bearer) Allows(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], b[:]) == 1
}

// unauthorized answers 401 as RFC 6750 asks, saying no more than that the token is missing or wrong.
func (h *handler) unauthorized(w http.ResponseWriter, r *http.Request) {
	challenge := `Bearer realm="pixcdn-admin"`
	if r.Header.Get("Authorization") != "" {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	WriteError(w, http.StatusUnauthorized, "unauthorized")
	h.cfg.Logger.Warn("admin: unauthorized", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 "ready" or 503 "not ready" on its first line, for load balancers; the
// lines after it say what the node runs.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	state := "ready"
	if !h.edge.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		state = "not ready"
	}
	fmt.Fprintf(w, "%s\nconfig_version %s\n", state, h.edge.ConfigVersion())
	if h.cfg.Members != nil {
		fmt.Fprintf(w, "members %s\n", strings.Join(h.cfg.Members(), " "))
	}
	if h.cfg.Status != nil {
		for _, l := range h.cfg.Status() {
			fmt.Fprintln(w, l)
		}
	}
}

func (h *handler) stats(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, h.cfg.Stats())
}

// reload asks the edge to re-read its configuration; a refused config is the operator's to fix,
// hence 400 with the reason, while the old config keeps serving.
func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	if err := h.edge.Reload(); err != nil {
		h.cfg.Logger.Warn("admin: reload refused", "err", err, "remote", r.RemoteAddr)
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.cfg.Logger.Info("admin: config reloaded", "remote", r.RemoteAddr)
	WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// decodeBody decodes r's JSON body into v strictly (unknown fields and trailing data are
// errors, so a typo in a field name is not silently ignored) within the body limit and a deadline.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(h.cfg.Now().Add(30 * time.Second))
	defer rc.SetReadDeadline(time.Time{})
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return fmt.Errorf("request body larger than %d bytes", mbe.Limit)
		}
		return fmt.Errorf("bad JSON body: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return errors.New("bad JSON body: data after the object")
	}
	return nil
}

// WriteJSON answers v as indented JSON, never cached: the shape of every admin and control
// plane answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// WriteError answers {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}
