// Package purge is the one vocabulary for removing content from caches: what a purge asks for
// (Purge) and what one node did with it (Result). The admin API, the edge and the control
// plane all speak it, so a purge issued anywhere means the same thing everywhere.
//
// A purge carries an ID and the time it was issued. A node applies a purge once: the same ID
// delivered again (a redelivery from a stream, a retry of a request) changes nothing. What it
// covers is decided by the issue time, not by when it arrived: objects a node fetched before
// the purge was issued are purged, objects fetched after it are not, however late the purge
// reaches the node.
package purge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what a purge's targets are.
type Kind string

// The kinds of purge.
const (
	URL    Kind = "url"    // targets are URLs ("https://host/p?q" or "host/p?q"): every variant of each
	Prefix Kind = "prefix" // targets are URL prefixes ("host/img/"): every URL under each
	Tag    Kind = "tag"    // targets are tags an origin gave (Surrogate-Key, Cache-Tag)
	Domain Kind = "domain" // targets are configured domain names: everything of each
)

// Purge is one purge request.
type Purge struct {
	ID      string    `json:"id"`               // unique; New gives a random one
	Issued  time.Time `json:"issued"`           // objects fetched before it are covered
	Kind    Kind      `json:"kind"`             // URL, Prefix, Tag or Domain
	Targets []string  `json:"targets"`          // what Kind says
	Soft    bool      `json:"soft,omitempty"`   // mark stale (revalidate, still usable on errors) instead of delete
	Domain  string    `json:"domain,omitempty"` // tag purges: only this domain ("" = every domain)
}

// Result is what one node did with a purge.
type Result struct {
	ID         string    `json:"id"`
	Node       string    `json:"node"`
	Kind       Kind      `json:"kind"`
	Targets    int       `json:"targets"`
	Soft       bool      `json:"soft,omitempty"`
	Issued     time.Time `json:"issued"`
	Applied    bool      `json:"applied"`     // false: the node had applied this ID already, nothing changed
	BanVersion uint64    `json:"ban_version"` // the node's ban list version once the purge holds
	// Cached says, for a URL purge, whether the node held a copy of each target (in Targets
	// order) fetched before the purge: what the purge found to delete or mark stale. Empty for
	// other kinds (their bans are lazy: what they match is known only as objects are asked
	// for) and for a purge the node had applied already.
	Cached []bool   `json:"cached,omitempty"`
	Error  string   `json:"error,omitempty"` // the node could not be asked or refused it: not applied there
	Peers  []Result `json:"peers,omitempty"` // the other nodes of the POP the node passed the purge to
}

// ErrBad wraps every refusal of a malformed purge (the admin API answers 400).
var ErrBad = errors.New("bad purge request")

// New makes a purge of kind with a fresh ID, issued now.
func New(kind Kind, targets []string, soft bool, now time.Time) Purge {
	return Purge{ID: NewID(), Issued: now, Kind: kind, Targets: targets, Soft: soft}
}

// NewID returns a random purge ID (128 bits, hex).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MaxTargets bounds one purge: a request body limit bounds its bytes, this its work.
const MaxTargets = 100_000

// Validate reports a purge no node could apply: an unknown kind, no targets or an empty one,
// too many, a missing ID or issue time, a malformed tag. Every message starts with "purge: ".
func (p *Purge) Validate() error {
	switch p.Kind {
	case URL, Prefix, Tag, Domain:
	case "":
		return fmt.Errorf(`%w: purge: kind is missing (one of "url", "prefix", "tag", "domain")`, ErrBad)
	default:
		return fmt.Errorf(`%w: purge: unknown kind %q (one of "url", "prefix", "tag", "domain")`, ErrBad, p.Kind)
	}
	switch {
	case p.ID == "" || len(p.ID) > 128 || strings.ContainsAny(p.ID, " \t\r\n"):
		return fmt.Errorf("%w: purge: id %q (1 to 128 characters, no spaces)", ErrBad, p.ID)
	case p.Issued.IsZero():
		return fmt.Errorf("%w: purge: no issue time", ErrBad)
	case len(p.Targets) == 0:
		return fmt.Errorf("%w: purge: no targets", ErrBad)
	case len(p.Targets) > MaxTargets:
		return fmt.Errorf("%w: purge: %d targets, at most %d per request", ErrBad, len(p.Targets), MaxTargets)
	}
	for i, t := range p.Targets {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("%w: purge: targets[%d] is empty", ErrBad, i)
		}
		if p.Kind == Tag && strings.ContainsAny(t, " ,\t") {
			return fmt.Errorf("%w: purge: tag %q", ErrBad, t)
		}
	}
	if p.Domain != "" && p.Kind != Tag {
		return fmt.Errorf("%w: purge: domain applies to tag purges only, not %q", ErrBad, p.Kind)
	}
	return nil
}
