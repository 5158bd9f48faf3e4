package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// purge serves POST /purge: the body is a purge.Purge (id and issued may be left out: they
// are given here), validated, applied by the edge, answered with the edge's purge.Result.
func (h *handler) purge(w http.ResponseWriter, r *http.Request) {
	var p purge.Purge
	if err := h.decodeBody(w, r, &p); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.ID == "" {
		p.ID = purge.NewID()
	}
	if p.Issued.IsZero() {
		p.Issued = h.cfg.Now()
	}
	if err := validatePurge(&p); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.edge.Purge(p)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.cfg.Logger.Info("admin: purge", "id", p.ID, "kind", p.Kind, "targets", len(p.Targets), "soft", p.Soft,
		"domain", p.Domain, "remote", r.RemoteAddr, "applied", res.Applied)
	WriteJSON(w, http.StatusOK, res)
}

// validatePurge checks what can be checked without the edge (the vocabulary's rules, with
// messages an operator reads); the edge still judges each target.
func validatePurge(p *purge.Purge) error {
	if err := p.Validate(); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), purge.ErrBad.Error()+": "))
	}
	return nil
}
