package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspStapler keeps a fresh OCSP response for one certificate whose leaf names a responder,
// so clients need not ask the CA themselves (a privacy leak and a round trip). A response is
// fetched when the domain is built and refreshed half way through its validity; a failed
// fetch keeps the last good response until it expires, and the handshake goes on without a
// staple when there is none (stapling is an optimisation, never a reason to refuse).
type ocspStapler struct {
	leaf, issuer *x509.Certificate
	staple       atomic.Pointer[[]byte]
	expires      atomic.Int64 // the staple's NextUpdate, unix nanoseconds; 0 = none
	client       *http.Client
	now          func() time.Time
}

// newOCSPStapler returns nil for a certificate without a responder URL or an issuer in its chain.
func newOCSPStapler(cert *tls.Certificate, now func() time.Time) *ocspStapler {
	if len(cert.Certificate) < 2 {
		return nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil
		}
	}
	if len(leaf.OCSPServer) == 0 {
		return nil
	}
	issuer, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil {
		return nil
	}
	return &ocspStapler{leaf: leaf, issuer: issuer, now: now, client: &http.Client{Timeout: 10 * time.Second}}
}

// current is the staple to send now, nil when there is no valid one.
func (o *ocspStapler) current() []byte {
	if o == nil {
		return nil
	}
	if p := o.staple.Load(); p != nil {
		return *p
	}
	return nil
}

// run refreshes the staple until ctx ends (a reload replaces the domain and its stapler).
func (o *ocspStapler) run(ctx context.Context, logf func(msg string, args ...any)) {
	retry := time.Minute
	for {
		next, err := o.refresh(ctx)
		wait := next
		if err != nil {
			logf("OCSP staple not refreshed", "subject", o.leaf.Subject.CommonName, "err", err)
			wait, retry = retry, min(2*retry, time.Hour)
		} else {
			retry = time.Minute
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// refresh fetches and checks one response; it returns how long to wait before the next.
func (o *ocspStapler) refresh(ctx context.Context) (time.Duration, error) {
	reqBody, err := ocsp.CreateRequest(o.leaf, o.issuer, &ocsp.RequestOptions{})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.leaf.OCSPServer[0], bytes.NewReader(reqBody))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	resp, err := o.client.Do(req)
	if err != nil {
		o.dropExpired()
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		o.dropExpired()
		return 0, fmt.Errorf("responder answered %d: %v", resp.StatusCode, err)
	}
	parsed, err := ocsp.ParseResponseForCert(raw, o.leaf, o.issuer)
	if err != nil {
		o.dropExpired()
		return 0, err
	}
	now := o.now()
	if parsed.Status != ocsp.Good || now.Before(parsed.ThisUpdate) || (!parsed.NextUpdate.IsZero() && !now.Before(parsed.NextUpdate)) {
		o.dropExpired()
		return 0, fmt.Errorf("response not usable: status %d, valid %v to %v", parsed.Status, parsed.ThisUpdate, parsed.NextUpdate)
	}
	o.staple.Store(&raw)
	o.expires.Store(parsed.NextUpdate.UnixNano())
	if parsed.NextUpdate.IsZero() {
		return time.Hour, nil
	}
	return max(parsed.NextUpdate.Sub(now)/2, time.Minute), nil
}

// dropExpired forgets a staple past its NextUpdate: a stale staple is worse than none.
func (o *ocspStapler) dropExpired() {
	if exp := o.expires.Load(); exp != 0 && !o.now().Before(time.Unix(0, exp)) {
		o.staple.Store(nil)
	}
}
