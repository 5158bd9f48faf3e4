package objcache

import (
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// Policy is one domain's caching policy: its keys, its origin and the rules on top of what
// the origin says. The edge builds one per configured domain; the cache never changes it.
type Policy struct {
	Name      string // the domain's configured name: bans and tag purges match it
	Keys      Keyer
	Origin    origin.Origin
	Heuristic httpcache.Heuristic
	// StatusTTL overrides the origin's freshness for a status (0: do not store it).
	StatusTTL map[int]time.Duration
	// RuleTTL gives a path rule's TTL for a storable response; nil: no rules.
	RuleTTL func(path string) (time.Duration, bool)
	// MaxErrorTTL caps a 5xx's freshness unless StatusTTL names its status.
	MaxErrorTTL time.Duration
	// StaleIfOriginDown serves a stale object this long past its expiry while the upstream fails.
	StaleIfOriginDown time.Duration
	// IdleTimeout ends an upstream body whose bytes stop coming for this long; 0: 30 s.
	IdleTimeout time.Duration
	// Codings is set when the node makes content codings itself: fills ask for identity, and
	// a compressible response varies on Accept-Encoding (the node answers per request) while
	// one stored copy serves every coding.
	Codings bool
	// Observer, if set, sees this domain's upstream exchanges and coalesced waits.
	Observer Observer
	// RelayHints passes an upstream's 103 Early Hints to the client whose request leads a
	// fill (Request.W), while it waits for the answer; HintsFromStore sends the stored
	// copy's preload Link fields as a 103 before revalidating it.
	RelayHints, HintsFromStore bool
}

// Observer is told what the cache did for one domain (metrics). Calls come from request
// goroutines, concurrently.
type Observer interface {
	// Fetched reports one exchange with an upstream: resp or err, and its time to headers.
	Fetched(up Upstream, resp *http.Response, err error, took time.Duration)
	// Coalesced reports a request that waited for another's fill instead of fetching.
	Coalesced()
}

// Upstream is where a fill comes from: a peer, a parent, or the domain's origin. Fetch is
// origin.Origin's contract.
type Upstream interface {
	origin.Origin
	// Name names it in Cache-Status and metrics: a node's name, or "" for the origin.
	Name() string
}

// Picker chooses who fills a primary key of a domain, in the spirit of groupcache's
// PeerPicker: the cache asks it inside the flight, after looking in the store again, and
// fetches from the domain's origin when it picks none (ok false) or the pick fails. asOwner
// says another node has named this one the key's owner (Request.NoPick): the Picker must not
// send it on to another owner, but may name a parent tier. Implementations are safe for
// concurrent use and answer without I/O.
type Picker interface {
	Pick(domain, primary string, asOwner bool) (up Upstream, ok bool)
}

// Copier is an Upstream that decides whether what it answered is kept here: a peer that owns
// a key answers it for the whole POP, and a node that asked it keeps a copy only of what is
// hot, so that one object is not stored on every node. Upstreams without it are stored as
// any answer.
type Copier interface {
	KeepCopy(primary string) bool
}

// PickerFunc adapts a function to Picker.
type PickerFunc func(domain, primary string, asOwner bool) (Upstream, bool)

// Pick calls f.
func (f PickerFunc) Pick(domain, primary string, asOwner bool) (Upstream, bool) {
	return f(domain, primary, asOwner)
}

// originUpstream is a domain's origin as an Upstream.
type originUpstream struct{ origin.Origin }

func (originUpstream) Name() string { return "" }
