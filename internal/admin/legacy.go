package admin

// This file keeps the first admin listener, Start, unchanged so that cmd/pixcdn builds until
// it is wired to New. Delete the file once nothing calls Start.

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/edge"
	"github.com/pixcdn/pixcdn/internal/store"
)

// Start binds addr and serves the admin endpoints for an edge and its store.
func Start(addr, token string, e *edge.Server, st *store.Cache) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ready\n")) })
	mux.Handle("GET /stats", authorized(token, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"edge": e.StatsSnapshot(), "store": st.Stats()})
	}))
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// authorized requires "Authorization: Bearer TOKEN" when token is set, compared in constant time.
func authorized(token string, h http.HandlerFunc) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pixcdn-admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}
