package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// maxPurgeTargets bounds one purge request; the body limit bounds the bytes, this the work.
const maxPurgeTargets = 100_000

// purge serves POST /purge: the body is a purge.Purge (id and issued may be left out: they
// are given here), validated, applied by the edge, answered with the edge's purge.Result.
func (h *handler) purge(w http.ResponseWriter, r *http.Request) {
	var p purge.Purge
	if err := h.decodeBody(w, r, &p); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.ID == "" {
		p.ID = purge.NewID()
	}
	if p.Issued.IsZero() {
		p.Issued = h.cfg.Now()
	}
	if err := validatePurge(&p); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.edge.Purge(p)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.cfg.Logger.Info("admin: purge", "id", p.ID, "kind", p.Kind, "targets", len(p.Targets), "soft", p.Soft,
		"domain", p.Domain, "remote", r.RemoteAddr, "applied", res.Applied)
	writeJSON(w, http.StatusOK, res)
}

// validatePurge checks what the admin API can check without the edge: a known kind, at least
// one target, no empty target, no more than maxPurgeTargets, then the vocabulary's own rules.
// The edge still judges each target.
func validatePurge(p *purge.Purge) error {
	switch p.Kind {
	case purge.URL, purge.Prefix, purge.Tag, purge.Domain:
	case "":
		return errors.New(`purge: kind is missing (one of "url", "prefix", "tag", "domain")`)
	default:
		return fmt.Errorf(`purge: unknown kind %q (one of "url", "prefix", "tag", "domain")`, p.Kind)
	}
	if len(p.Targets) > maxPurgeTargets {
		return fmt.Errorf("purge: %d targets, at most %d per request", len(p.Targets), maxPurgeTargets)
	}
	for i, t := range p.Targets {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("purge: targets[%d] is empty", i)
		}
	}
	if p.Domain != "" && p.Kind != purge.Tag {
		return fmt.Errorf("purge: domain applies to tag purges only, not %q", p.Kind)
	}
	return p.Validate()
}
