package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Purges are lazy, in the manner of Varnish's bans: a purge appends a ban (what it matches and
// when it was made) and returns at once, whatever it covers; a lookup checks the object against
// the bans made after the object was fetched. Each object remembers the ban-list version it was
// last found clean against, so a hit checks only bans it has not seen. Hard bans make the object
// a miss (and delete it); soft bans make it stale as of the ban, so the next request revalidates
// and stale-if-error can still serve it.

// Purge kinds.
const (
	PurgeURL    = "url"
	PurgePrefix = "prefix"
	PurgeTag    = "tag"
	PurgeDomain = "domain"
)

// PurgeRequest is one purge of one kind.
type PurgeRequest struct {
	Kind    string   // PurgeURL, PurgePrefix, PurgeTag or PurgeDomain
	Targets []string // URLs ("https://host/p?q" or "host/p?q"), URL prefixes, tags, or domain names
	Soft    bool     // mark stale instead of delete
	Domain  string   // tag purges: only this domain ("" = every domain)
}

// PurgeResult says what a purge did.
type PurgeResult struct {
	Kind    string
	Targets int
	Soft    bool
	At      time.Time
}

// ErrBadPurge wraps every rejection of a purge request (the admin API answers 400).
var ErrBadPurge = errors.New("bad purge request")

type ban struct {
	Kind   string `json:"kind"`
	Domain string `json:"domain,omitempty"` // configured domain name; "" for an all-domain tag ban
	Value  string `json:"value"`            // url: a primary key; prefix: key prefix; tag: the tag
	At     int64  `json:"at"`               // unix nanoseconds; objects requested before it are banned
	Soft   bool   `json:"soft,omitempty"`
}

// matches reports whether the ban covers an object of domain d.
func (b *ban) matches(domain string, m *meta) bool {
	switch b.Kind {
	case PurgeURL:
		return urlPart(m.primary) == b.Value // every keyed-field variant of the URL
	case PurgePrefix:
		return strings.HasPrefix(m.primary, b.Value)
	case PurgeDomain:
		return domain == b.Domain
	case PurgeTag:
		return (b.Domain == "" || b.Domain == domain) && slices.Contains(m.tags, b.Value)
	}
	return false
}

// bans is the ban list: immutable snapshots swapped under a mutex, read without locks.
type bans struct {
	mu      sync.Mutex
	list    atomic.Pointer[[]ban] // oldest first
	version atomic.Uint64         // bumped by every purge; 0 = never purged
	file    string                // where the list survives restarts ("" = memory only)
	// maxLife is the longest an object could still be served (TTL plus stale windows) of any
	// object stored so far: bans older than that can match nothing usable and are dropped.
	maxLife atomic.Int64
}

type bansFile struct {
	Bans    []ban `json:"bans"`
	MaxLife int64 `json:"max_life_ns"`
}

func loadBans(dir string) (*bans, error) {
	b := &bans{}
	if dir == "" {
		return b, nil
	}
	b.file = filepath.Join(dir, "bans.json")
	data, err := os.ReadFile(b.file)
	if errors.Is(err, os.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	var f bansFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", b.file, err)
	}
	b.list.Store(&f.Bans)
	b.maxLife.Store(f.MaxLife)
	if len(f.Bans) > 0 {
		b.version.Store(1)
	}
	return b, nil
}

// noteLifetime records how long an object may be served.
func (b *bans) noteLifetime(d time.Duration) {
	for {
		cur := b.maxLife.Load()
		if int64(d) <= cur || b.maxLife.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// add appends bans made at now, drops expired ones and persists the list.
func (b *bans) add(now time.Time, nb []ban) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var old []ban
	if p := b.list.Load(); p != nil {
		old = *p
	}
	horizon := now.UnixNano() - b.maxLife.Load()
	list := make([]ban, 0, len(old)+len(nb))
	for _, x := range old {
		if x.At >= horizon {
			list = append(list, x)
		}
	}
	list = append(list, nb...)
	b.list.Store(&list)
	b.version.Add(1)
	return b.persist(list)
}

func (b *bans) persist(list []ban) error {
	if b.file == "" {
		return nil
	}
	data, err := json.Marshal(bansFile{Bans: list, MaxLife: b.maxLife.Load()})
	if err != nil {
		return err
	}
	tmp := b.file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, b.file)
}

// check returns the newest ban that covers m, or nil. Objects found clean remember the version.
func (b *bans) check(domain string, m *meta) *ban {
	v := b.version.Load()
	if v == 0 || m.banClean.Load() == v {
		return nil
	}
	if p := b.list.Load(); p != nil {
		list := *p
		for i := len(list) - 1; i >= 0 && list[i].At > m.requestTime; i-- {
			if list[i].matches(domain, m) {
				return &list[i]
			}
		}
	}
	m.banClean.Store(v)
	return nil
}

// Purge applies a purge on this node. It returns when every later request sees it.
func (s *Server) Purge(req PurgeRequest) (PurgeResult, error) {
	if len(req.Targets) == 0 {
		return PurgeResult{}, fmt.Errorf("%w: no targets", ErrBadPurge)
	}
	now := s.now()
	rt := s.routes.Load()
	nb := make([]ban, 0, len(req.Targets))
	for _, t := range req.Targets {
		b, err := rt.ban(req, t)
		if err != nil {
			return PurgeResult{}, err
		}
		b.At, b.Soft = now.UnixNano(), req.Soft
		nb = append(nb, b)
	}
	if err := s.bans.add(now, nb); err != nil {
		s.log.Warn("purge not persisted: it holds until restart", "err", err)
	}
	if !req.Soft && req.Kind == PurgeURL {
		for _, b := range nb {
			s.store.Delete(b.Value) // free the space now; variants follow lazily
		}
	}
	s.log.Info("purge", "kind", req.Kind, "targets", len(req.Targets), "soft", req.Soft)
	return PurgeResult{Kind: req.Kind, Targets: len(nb), Soft: req.Soft, At: now}, nil
}

// ban turns one purge target into a ban (without its time).
func (rt *routes) ban(req PurgeRequest, target string) (ban, error) {
	switch req.Kind {
	case PurgeTag:
		if target == "" || strings.ContainsAny(target, " ,") {
			return ban{}, fmt.Errorf("%w: tag %q", ErrBadPurge, target)
		}
		if req.Domain != "" && rt.domainNamed(req.Domain) == nil {
			return ban{}, fmt.Errorf("%w: unknown domain %q", ErrBadPurge, req.Domain)
		}
		return ban{Kind: PurgeTag, Domain: req.Domain, Value: target}, nil
	case PurgeDomain:
		d := rt.domainNamed(target)
		if d == nil {
			return ban{}, fmt.Errorf("%w: unknown domain %q", ErrBadPurge, target)
		}
		return ban{Kind: PurgeDomain, Domain: d.cfg.Name}, nil
	case PurgeURL, PurgePrefix:
		d, u, err := rt.purgeURL(target)
		if err != nil {
			return ban{}, err
		}
		if req.Kind == PurgePrefix {
			return ban{Kind: PurgePrefix, Domain: d.cfg.Name, Value: d.keyer.base(u.Host) + u.EscapedPath()}, nil
		}
		return ban{Kind: PurgeURL, Domain: d.cfg.Name, Value: d.keyer.urlKey(u.Host, u.EscapedPath(), u.RawQuery)}, nil
	}
	return ban{}, fmt.Errorf("%w: kind %q (want url, prefix, tag or domain)", ErrBadPurge, req.Kind)
}

// purgeURL resolves "https://host/path?q" or "host/path?q" to its domain and URL.
func (rt *routes) purgeURL(target string) (*domain, *url.URL, error) {
	raw := target
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("%w: URL %q", ErrBadPurge, target)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	d := rt.lookup(u.Host)
	if d == nil {
		return nil, nil, fmt.Errorf("%w: no domain serves %q", ErrBadPurge, u.Host)
	}
	return d, u, nil
}

// domainNamed finds a domain by its configured name or an alias.
func (rt *routes) domainNamed(name string) *domain {
	for dc, d := range rt.domains {
		if dc.Name == name || slices.Contains(dc.Aliases, name) {
			return d
		}
	}
	return nil
}

// purgeTags reads the tags an origin gave a response and removes the fields: they are for
// this cache, not for browsers.
func purgeTags(h map[string][]string) []string {
	var tags []string
	for _, f := range []string{"Surrogate-Key", "Cache-Tag"} {
		for _, v := range h[f] {
			for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		delete(h, f)
	}
	return tags
}
