package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxPurgeTargets bounds one purge request; the body limit bounds the bytes, this the work.
const maxPurgeTargets = 100_000

// purge serves POST /purge: validate the request, let the edge apply it, answer what was done.
func (h *handler) purge(w http.ResponseWriter, r *http.Request) {
	var req PurgeRequest
	if err := h.decodeBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := req.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.edge.Purge(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.cfg.Logger.Info("admin: purge", "kind", req.Kind, "targets", len(req.Targets), "soft", req.Soft,
		"domain", req.Domain, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, res)
}

// Validate checks what the admin API can check without the edge: a known kind, at least one
// target, no empty target, and Domain only on tag purges. The edge still judges each target.
func (req PurgeRequest) Validate() error {
	switch req.Kind {
	case KindURL, KindPrefix, KindTag, KindDomain:
	case "":
		return errors.New(`purge: kind is missing (one of "url", "prefix", "tag", "domain")`)
	default:
		return fmt.Errorf(`purge: unknown kind %q (one of "url", "prefix", "tag", "domain")`, req.Kind)
	}
	if len(req.Targets) == 0 {
		return errors.New("purge: no targets")
	}
	if len(req.Targets) > maxPurgeTargets {
		return fmt.Errorf("purge: %d targets, at most %d per request", len(req.Targets), maxPurgeTargets)
	}
	for i, t := range req.Targets {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("purge: targets[%d] is empty", i)
		}
	}
	if req.Domain != "" && req.Kind != KindTag {
		return fmt.Errorf("purge: domain applies to tag purges only, not %q", req.Kind)
	}
	return nil
}
