package vips

/*
#cgo pkg-config: vips
#include "px.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Config is the process-wide libvips setup. libvips keeps global state (its
// thread pool, operation blocks, error buffer), so unlike other packages this
// one is configured once per process, by the first Init that runs.
type Config struct {
	// Concurrency is libvips' worker threads per image. Parallelism comes
	// from running one job per core, so 1 (the default) wastes no CPU on
	// thread hand-offs; see the package benchmarks.
	Concurrency int
	// Logger receives libvips warnings (corrupt-but-decodable input and the
	// like) at Debug level; nil means slog.Default().
	Logger *slog.Logger
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
}

// Validate reports a configuration libvips cannot use.
func (c Config) Validate() error {
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return fmt.Errorf("vips: concurrency %d out of range 1..64", c.Concurrency)
	}
	return nil
}

var (
	initOnce sync.Once
	initErr  error
	logger   atomic.Pointer[slog.Logger]
)

// Init starts libvips with cfg. Only the first call configures; later calls
// return the first call's result. Every other function calls Init with the
// defaults if the process has not, so an explicit call is needed only to
// change them.
func Init(cfg Config) error {
	initOnce.Do(func() {
		cfg.SetDefaults()
		if initErr = cfg.Validate(); initErr != nil {
			return
		}
		l := cfg.Logger
		if l == nil {
			l = slog.Default()
		}
		logger.Store(l)
		if C.px_init(C.int(cfg.Concurrency)) != 0 {
			initErr = fmt.Errorf("vips: init: %s", takeError())
		}
	})
	return initErr
}

func start() error { return Init(Config{}) }

// TrackedMem is the memory libvips has allocated for pixels and buffers
// right now (vips_tracked_get_mem); tests use it to check for leaks.
func TrackedMem() int64 {
	if start() != nil {
		return 0
	}
	return int64(C.px_tracked_mem())
}

// ReleaseMemory hands memory that freed image buffers left in the C heap back to the
// operating system (malloc_trim). Cheap when there is little to give back; the pipeline
// calls it when image work pauses.
func ReleaseMemory() {
	if start() == nil {
		C.px_trim()
	}
}

//export pxGoLog
func pxGoLog(domain *C.char, level C.int, msg *C.char) {
	if l := logger.Load(); l != nil {
		l.Debug("libvips", "domain", C.GoString(domain), "level", int(level), "msg", C.GoString(msg))
	}
}

// Errors the callers classify. Every error of this package is an *Error
// whose Kind is one of these, so errors.Is works on the sentinels.
var (
	// ErrUnsupported: the bytes are not an image of an allowed format.
	ErrUnsupported = errors.New("not an image format we process")
	// ErrFailed: libvips refused or failed (corrupt data, bad arguments).
	ErrFailed = errors.New("libvips failed")
	// ErrCancelled: the job's Canceller fired while pixels were computed.
	ErrCancelled = errors.New("cancelled")
)

// Error is a failed libvips call: Op names our step, Msg is libvips' text.
type Error struct {
	Kind error
	Op   string
	Msg  string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return "vips " + e.Op + ": " + e.Kind.Error()
	}
	return "vips " + e.Op + ": " + e.Kind.Error() + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Kind }

var _ error = (*Error)(nil)

// takeError copies and clears libvips' error buffer. The buffer is global
// to the process; vips_error_buffer_copy reads and clears it under libvips'
// own lock, so two failing jobs never corrupt it, though a message may name
// the other job's failure when both fail at once.
func takeError() string {
	p := C.px_error()
	if p == nil {
		return ""
	}
	defer C.g_free(C.gpointer(unsafe.Pointer(p)))
	return strings.TrimSpace(C.GoString(p))
}

// failure builds the error for a failed call, telling a kill apart from
// other failures by libvips' message (the only signal it gives).
func failure(op string, c *Canceller) error {
	msg := takeError()
	if c != nil && c.Fired() || strings.Contains(msg, "killed for image") {
		return &Error{Kind: ErrCancelled, Op: op, Msg: msg}
	}
	return &Error{Kind: ErrFailed, Op: op, Msg: msg}
}
