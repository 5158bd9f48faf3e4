package store

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Errors returned by the store. They are sentinel values: test with errors.Is, since the
// store wraps them with the operation and key.
var (
	// ErrTooLarge means the object cannot be stored at all (no disk tier and a body above
	// MemoryObjectMax, or a body above a quarter of the disk tier). The caller serves it
	// without storing.
	ErrTooLarge = errors.New("store: object too large")
	// ErrCorrupt means a record failed its checksum. The record has been dropped from the index.
	ErrCorrupt = errors.New("store: corrupt record")
	// ErrClosed means the Cache (or a follower reader) was closed.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound means UpdateMeta found no object for the key.
	ErrNotFound = errors.New("store: not found")
	// ErrAborted is what a follower reader returns once its Writer was aborted or failed.
	ErrAborted = errors.New("store: write aborted")
)

// Limits of the record format (see doc.go). They keep a corrupt header from making the
// rebuild allocate gigabytes, and they bound what one Put may hold in memory.
const (
	MaxKeyLen  = 64 << 10
	MaxMetaLen = 1 << 20
	// maxMemoryObjectMax keeps the memory weigher within uint32 and small records well
	// under the 4 GiB offsets of a shared segment.
	maxMemoryObjectMax = 256 << 20
	maxSegmentBytes    = 2 << 30
)

// Config configures a Cache. The zero value plus SetDefaults is a 256 MiB memory-only cache.
type Config struct {
	// MemoryBytes is the memory tier capacity in bytes, counting key, meta and body of every
	// object. 0 means the default (256 MiB); -1 disables the memory tier.
	MemoryBytes int64
	// MemoryObjectMax is the largest body admitted to the memory tier, and the size above
	// which a body is streamed to a dedicated segment instead of buffered. Default 1 MiB.
	MemoryObjectMax int64
	// Dir is the disk tier directory; "" means memory only.
	Dir string
	// DiskBytes is the disk tier capacity; whole oldest segments are deleted above it.
	// Default 10 GiB.
	DiskBytes int64
	// SegmentBytes is the size at which the active segment is sealed. Default 64 MiB.
	SegmentBytes int64
	// Logger receives rebuild and eviction events. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock, stamped into records and hints. Default time.Now.
	Now func() time.Time
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.MemoryBytes == 0 {
		c.MemoryBytes = 256 << 20
	}
	if c.MemoryObjectMax == 0 {
		c.MemoryObjectMax = 1 << 20
	}
	if c.DiskBytes == 0 {
		c.DiskBytes = 10 << 30
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports the first invalid field. It expects SetDefaults to have run.
func (c Config) Validate() error {
	switch {
	case c.MemoryBytes == 0 || c.MemoryBytes < -1:
		return fmt.Errorf("store: MemoryBytes %d: want > 0, or -1 to disable", c.MemoryBytes)
	case c.MemoryObjectMax <= 0 || c.MemoryObjectMax > maxMemoryObjectMax:
		return fmt.Errorf("store: MemoryObjectMax %d: want 1..%d", c.MemoryObjectMax, maxMemoryObjectMax)
	case c.Dir == "" && c.MemoryBytes < 0:
		return errors.New("store: memory tier disabled and no Dir: nothing would be stored")
	case c.Dir != "" && c.SegmentBytes < 4096 || c.SegmentBytes > maxSegmentBytes:
		return fmt.Errorf("store: SegmentBytes %d: want 4096..%d", c.SegmentBytes, maxSegmentBytes)
	case c.Dir != "" && c.DiskBytes < 2*c.SegmentBytes:
		return fmt.Errorf("store: DiskBytes %d: want at least two segments (%d)", c.DiskBytes, 2*c.SegmentBytes)
	case c.Logger == nil || c.Now == nil:
		return errors.New("store: Logger and Now must be set (call SetDefaults)")
	}
	return nil
}
