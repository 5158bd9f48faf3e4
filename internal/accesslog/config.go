package accesslog

import (
	"errors"
	"fmt"
	"time"
)

// Formats.
const (
	FormatJSON     = "json"
	FormatCombined = "combined"
)

// Config says where and how to log. The zero value logs JSON to stdout.
type Config struct {
	Path   string // "" or "-" = stdout
	Format string // FormatJSON (default) or FormatCombined
	// BufferLines is how many formatted lines may wait for the writer before further lines are
	// dropped (with at most BufferLines KiB of them); 0 means 32768: about 0.4 s of a saturated
	// 2-CPU edge, so a disk that stalls that long (dirty-page throttling) loses nothing. The
	// memory is only taken during such a stall. A buffer is handed to the writer at 64 KB or
	// BufferLines/2 lines, whichever comes first.
	BufferLines int
	// FlushInterval bounds how long a line may sit in the write buffer; 0 means 200 ms.
	FlushInterval time.Duration
}

const (
	defaultBufferLines   = 32768
	defaultFlushInterval = 200 * time.Millisecond
	writeBufferSize      = 64 << 10 // bytes that make a buffer full: one write call
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = FormatJSON
	}
	if c.BufferLines == 0 {
		c.BufferLines = defaultBufferLines
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = defaultFlushInterval
	}
	return c
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Format != FormatJSON && c.Format != FormatCombined {
		return fmt.Errorf("accesslog: unknown format %q (want %q or %q)", c.Format, FormatJSON, FormatCombined)
	}
	if c.BufferLines < 0 {
		return errors.New("accesslog: BufferLines must not be negative")
	}
	if c.FlushInterval < 0 {
		return errors.New("accesslog: FlushInterval must not be negative")
	}
	return nil
}

func (c Config) stdout() bool { return c.Path == "" || c.Path == "-" }
