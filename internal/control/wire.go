package control

import (
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// The names on NATS. Changing one is a protocol change between control plane and nodes.
const (
	ConfigBucket       = "pixcdn_config"
	ConfigKey          = "domains"
	NodesBucket        = "pixcdn_nodes"
	PurgeStream        = "PIXCDN_PURGE"
	PurgeSubject       = "pixcdn.purge"
	PurgeAckSubject    = "pixcdn.purge.ack"
	PrefetchSubject    = "pixcdn.prefetch"
	PrefetchAckSubject = "pixcdn.prefetch.ack"
	StatsSubjectPrefix = "pixcdn.stats."

	// ConfigHistory is how many versions the bucket keeps (the most NATS keeps per key).
	ConfigHistory = 64
	// PurgeRetention is how long the purge stream keeps a purge, and how long a node's
	// consumer survives while the node is away. A node away longer drops its whole cache
	// when it returns, since it cannot know what it missed.
	PurgeRetention = 7 * 24 * time.Hour
	// Heartbeat is how often a node rewrites its status; a node silent for LostAfter is
	// taken as gone (not expected to answer purges, shown as lost).
	Heartbeat = 5 * time.Second
	LostAfter = 3 * Heartbeat
)

// Version is one stored configuration version: the document and where it came from.
type Version struct {
	YAML       string    `json:"yaml"`
	SHA256     string    `json:"sha256"`
	Pushed     time.Time `json:"pushed"`
	Message    string    `json:"message,omitempty"`
	RollbackOf uint64    `json:"rollback_of,omitempty"` // the version this one restores
}

// Node states.
const (
	NodeRunning = "running"
	NodeStopped = "stopped" // left in an orderly way
)

// NodeStatus is what a node says about itself in the nodes bucket.
type NodeStatus struct {
	Node        string    `json:"node"`
	POP         string    `json:"pop"`
	State       string    `json:"state"`
	HTTP        string    `json:"http,omitempty"`      // client listener addresses
	HTTPS       string    `json:"https,omitempty"`     //
	Admin       string    `json:"admin,omitempty"`     // its admin API
	Advertise   []string  `json:"advertise,omitempty"` // IP addresses clients reach it on (the router answers them)
	Version     uint64    `json:"version"`             // the control plane's version it serves; 0 = its own file's domains
	ConfigHash  string    `json:"config_hash"`         // config.Config.Version of what it serves
	Failed      uint64    `json:"failed,omitempty"`
	FailedError string    `json:"failed_error,omitempty"` // why Failed did not build here
	PurgeSeq    uint64    `json:"purge_seq"`              // the last purge stream sequence it applied
	Started     time.Time `json:"started"`
	Updated     time.Time `json:"updated"` // the node's clock: shown, never used to order
}

// PurgeAck is a node's answer to one purge.
type PurgeAck struct {
	Node   string       `json:"node"`
	POP    string       `json:"pop"`
	Seq    uint64       `json:"seq"`
	Result purge.Result `json:"result"`
}

// PrefetchOrder asks every node for URLs; each node fetches those it owns in its POP.
type PrefetchOrder struct {
	ID   string   `json:"id"`
	URLs []string `json:"urls"`
}

// PrefetchReport is one node's answer to a PrefetchOrder, sent once it is done.
type PrefetchReport struct {
	ID       string                 `json:"id"`
	Node     string                 `json:"node"`
	POP      string                 `json:"pop"`
	Assigned int                    `json:"assigned"` // URLs it owned and fetched
	Failed   int                    `json:"failed"`
	Results  []admin.PrefetchResult `json:"results"`
}

// SubjectToken makes a node name usable as one subject token and consumer name: NATS
// reserves '.', '*', '>' and white space there; node names allow '.'.
func SubjectToken(node string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t':
			return '_'
		}
		return r
	}, node)
}

// ConsumerName is the durable consumer of the purge stream that belongs to node.
func ConsumerName(node string) string { return "edge-" + SubjectToken(node) }
