package vips

/*
#include "px.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
)

// Canceller stops the evaluation of the images it watches. libvips computes
// pixels only inside Save (and the few steps that must look at pixels, such
// as smart crop), so a deadline checked between steps is not enough: Cancel
// makes the next progress tick of any watched evaluation fail.
// A Canceller is safe for concurrent use; Close it when the job is done.
type Canceller struct {
	mu    sync.Mutex
	c     *C.px_cancel // nil after Close
	fired atomic.Bool
}

// NewCanceller makes a Canceller that has not fired.
func NewCanceller() *Canceller {
	return &Canceller{c: C.px_cancel_new()}
}

// Cancel fires the Canceller; it may be called from any goroutine, e.g. a
// time.AfterFunc, and more than once.
func (c *Canceller) Cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fired.Store(true)
	if c.c != nil {
		C.px_cancel_set(c.c)
	}
}

// Fired reports whether Cancel was called.
func (c *Canceller) Fired() bool { return c != nil && c.fired.Load() }

// Close releases the Canceller's reference to its C flag; watched images
// hold their own until they are freed.
func (c *Canceller) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		C.px_cancel_unref(c.c)
		c.c = nil
	}
}

// Watch makes every evaluation downstream of im stop once c fires.
func (im *Image) Watch(c *Canceller) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil && im.p != nil {
		C.px_watch(im.p, c.c)
	}
	im.cancel = c
}
