package objcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// Source is a source object's body, read whole for a front-end that derives variants from it.
type Source struct {
	Body []byte // the caller's to read; never modified by the cache
	Meta *Meta  // the stored record (freshness, primary key and tags for the variant)
	// Storable says whether a variant made from it may be stored: the source is stored, fresh.
	Storable bool
}

// ErrSourceTooLarge is the error of a source over the caller's byte limit.
var ErrSourceTooLarge = errors.New("objcache: the source is larger than the limit")

// RelayedError is a source answer other than 200 (404, 502...): no variant can be made from it,
// and the client gets the answer as it is.
type RelayedError struct {
	Status int
	Header http.Header
	Body   []byte
}

func (e *RelayedError) Error() string { return "source answered " + strconv.Itoa(e.Status) }

// Source gets the body of the object r names through the cache, as a client request for it
// would go (fresh hit, coalesced fill, stale on upstream errors), except that a stale copy is
// revalidated before it is used (a variant of it is stored only when it is fresh). At most max
// bytes: a larger source is ErrSourceTooLarge. r's conditional, range and coding fields are not
// used.
func (c *Cache) Source(ctx context.Context, p *Policy, r *http.Request, max int64) (Source, error) {
	sub := r.Clone(ctx)
	for _, f := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Accept-Encoding"} {
		sub.Header.Del(f)
	}
	primary := p.Keys.Key(sub.Host, sub.URL.EscapedPath(), sub.URL.RawQuery, sub.Header)
	res := c.Get(p, &Request{HTTP: sub, Primary: primary, Revalidate: true})
	defer res.Release()
	switch res.Kind {
	case Failed:
		return Source{}, res.Err
	case Forward:
		return c.sourceDirect(ctx, p, sub, primary, max)
	}
	body, err := readBody(&res.Body, max)
	if err != nil {
		return Source{}, err
	}
	if res.Meta.Status != http.StatusOK {
		return Source{}, &RelayedError{Status: res.Meta.Status, Header: res.Meta.Header.Clone(), Body: body}
	}
	storable := res.Kind == Hit || res.Kind == NotModified || (res.Kind == Fetched && res.Status.Stored)
	return Source{Body: body, Meta: res.Meta, Storable: storable && res.Meta.Fresh(c.now())}, nil
}

// sourceDirect fetches a source the cache does not store (hit-for-pass) from the origin.
func (c *Cache) sourceDirect(ctx context.Context, p *Policy, r *http.Request, primary string, max int64) (Source, error) {
	resp, err := c.sendTo(p, originUpstream{p.Origin}, c.Forward(ctx, p, r, http.MethodGet))
	if err != nil {
		return Source{}, err
	}
	defer resp.Body.Close()
	body, err := readBody(&Body{RC: resp.Body, Size: resp.ContentLength}, max)
	if err != nil {
		return Source{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Source{}, &RelayedError{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}
	m := &Meta{Kind: RecordObject, Status: http.StatusOK, Primary: primary, Header: resp.Header, ResponseTime: c.now().UnixNano()}
	return Source{Body: body, Meta: m}, nil
}

// readBody reads a result's body whole, at most max bytes.
func readBody(b *Body, max int64) ([]byte, error) {
	if b.Size > max {
		return nil, fmt.Errorf("%w (%d bytes, at most %d)", ErrSourceTooLarge, b.Size, max)
	}
	var rd io.Reader
	switch {
	case b.Obj != nil:
		data, err := ReadObject(b.Obj)
		if err != nil {
			return nil, err
		}
		if _, resident := b.Obj.Bytes(); resident {
			data = slices.Clone(data) // the store's bytes stay valid only while the object is held
		}
		return data, nil
	case b.W != nil:
		rc := b.W.NewReader()
		defer rc.Close()
		rd = rc
	case b.RC != nil:
		rd = b.RC
	default:
		return b.Bytes, nil
	}
	data, err := readUpTo(rd, max)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the source: %w", err)
	case int64(len(data)) > max:
		return nil, fmt.Errorf("%w (at most %d bytes)", ErrSourceTooLarge, max)
	}
	return data, nil
}

// ReadObject reads a stored body whole (its size bounded by the caller). Its bytes may be the
// store's, valid while the object is held.
func ReadObject(obj interface {
	Bytes() ([]byte, bool)
	Size() int64
	NewReader(off, n int64) (io.ReadCloser, error)
}) ([]byte, error) {
	if b, ok := obj.Bytes(); ok {
		return b, nil
	}
	rc, err := obj.NewReader(0, obj.Size())
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, obj.Size())
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("reading a cached body: %w", err)
	}
	return b, nil
}
