package access

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"
)

// SignType names one URL-signing format.
type SignType string

// The supported formats. A, B, C and F are the common CDN formats (Alibaba Cloud's names), kept
// byte-compatible so existing signers keep working; HMAC is ours, for new deployments.
const (
	SignA    SignType = "A"    // /path?auth_key=<ts>-<rand>-<uid>-<md5(path-ts-rand-uid-key)>
	SignB    SignType = "B"    // /<YYYYMMDDHHMM UTC+8>/<md5(key+ts+path)>/path
	SignC    SignType = "C"    // /<md5(key+path+hexts)>/<hexts>/path or path?KEY1=<md5>&KEY2=<hexts>
	SignF    SignType = "F"    // path?sign=<md5(key+path+ts)>&time=<ts>
	SignHMAC SignType = "HMAC" // path?...&exp=<unix>&sig=<base64url(HMAC-SHA256(key, path?canonical))>
)

// Defaults and limits of SignConfig.
const (
	// DefaultClockSkew tolerates signers whose clocks run ahead of the edge's. Five minutes covers
	// unsynchronised hosts without letting a future-dated URL live much past its TTL.
	DefaultClockSkew = 5 * time.Minute
	// MinKeyLen is the shortest key accepted; the CDN formats document 16 to 32 characters.
	MinKeyLen = 16

	// HMACParamExp and HMACParamSig are the query names of the HMAC type.
	HMACParamExp = "exp"
	HMACParamSig = "sig"
)

// SignConfig is one domain's URL-signing configuration.
type SignConfig struct {
	Type SignType
	// Keys holds the primary key first, then secondary keys: verification accepts any of them so a
	// key can be rotated without downtime; signing uses Keys[0].
	Keys []string
	// TTL is the validity window after the signed timestamp (the creation time; for B the creation
	// minute in UTC+8). For HMAC, whose exp is the expiry itself, TTL is the longest lifetime a URL
	// may claim: exp beyond now+TTL+ClockSkew is refused as not-yet-valid.
	TTL time.Duration
	// ParamA is type A's query name; default "auth_key".
	ParamA string
	// ParamC1 and ParamC2 are type C's query-form names for md5 and hex time; default "KEY1", "KEY2".
	ParamC1, ParamC2 string
	// CQueryForm makes Sign produce type C's query form; Verify accepts both forms regardless.
	CQueryForm bool
	// ParamSign and ParamTime are type F's query names; default "sign", "time".
	ParamSign, ParamTime string
	// ClockSkew is how far in the future a signed timestamp may lie. Zero means DefaultClockSkew;
	// a negative value means no tolerance. Signers that future-date timestamps to extend validity
	// (a documented practice with type A-F signers) need ClockSkew at least that extension.
	ClockSkew time.Duration
}

// withDefaults fills the zero fields with their documented defaults.
func (c SignConfig) withDefaults() SignConfig {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.ParamA, "auth_key")
	def(&c.ParamC1, "KEY1")
	def(&c.ParamC2, "KEY2")
	def(&c.ParamSign, "sign")
	def(&c.ParamTime, "time")
	switch {
	case c.ClockSkew == 0:
		c.ClockSkew = DefaultClockSkew
	case c.ClockSkew < 0:
		c.ClockSkew = 0
	}
	return c
}

// Validate reports the first problem in c (after defaults).
func (c SignConfig) Validate() error {
	c = c.withDefaults()
	switch c.Type {
	case SignA, SignB, SignC, SignF, SignHMAC:
	default:
		return fmt.Errorf("access: sign type %q: want A, B, C, F or HMAC", string(c.Type))
	}
	if len(c.Keys) == 0 {
		return fmt.Errorf("access: sign type %s: no keys", c.Type)
	}
	for i, k := range c.Keys {
		if len(k) < MinKeyLen {
			return fmt.Errorf("access: sign key %d: %d bytes, want at least %d", i, len(k), MinKeyLen)
		}
	}
	if c.TTL <= 0 {
		return fmt.Errorf("access: sign TTL %v: must be positive", c.TTL)
	}
	for _, p := range []string{c.ParamA, c.ParamC1, c.ParamC2, c.ParamSign, c.ParamTime} {
		if !validParamName(p) {
			return fmt.Errorf("access: sign parameter name %q: want letters, digits, '-', '_', '.' or '~'", p)
		}
	}
	if c.ParamC1 == c.ParamC2 || c.ParamSign == c.ParamTime {
		return fmt.Errorf("access: sign parameter names must differ within a type")
	}
	return nil
}

// validParamName keeps parameter names to unreserved characters, so the raw and decoded spellings
// coincide and a name never needs escaping.
func validParamName(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Verifier checks and produces signed URLs for one configuration. It is immutable and safe for
// concurrent use.
type Verifier struct {
	cfg  SignConfig
	keys [][]byte
}

// NewVerifier validates cfg and builds its Verifier.
func NewVerifier(cfg SignConfig) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Keys = append([]string(nil), cfg.Keys...)
	v := &Verifier{cfg: cfg}
	for _, k := range cfg.Keys {
		v.keys = append(v.keys, []byte(k))
	}
	return v, nil
}

// Config returns the configuration with defaults applied.
func (v *Verifier) Config() SignConfig { return v.cfg }

// Verify checks the request's escaped path and raw query at time now. On success it returns the
// path and query with the signing parts removed (other query pieces kept, in order), so signed
// and differently-signed URLs share one cached object and the origin never sees a signature. On
// failure the error is a *VerifyError whose Reason() is a short token for a response header.
//
// The signature is checked before the time, so "expired" and "not-yet-valid" are only ever said
// of URLs that one of our keys really signed.
func (v *Verifier) Verify(escapedPath, rawQuery string, now time.Time) (path, query string, err error) {
	switch v.cfg.Type {
	case SignA:
		return v.verifyA(escapedPath, rawQuery, now)
	case SignB:
		return v.verifyB(escapedPath, rawQuery, now)
	case SignC:
		return v.verifyC(escapedPath, rawQuery, now)
	case SignF:
		return v.verifyF(escapedPath, rawQuery, now)
	default:
		return v.verifyHMAC(escapedPath, rawQuery, now)
	}
}

// checkWindow applies the validity window to a URL created at created.
func (v *Verifier) checkWindow(created, now time.Time) error {
	if created.After(now.Add(v.cfg.ClockSkew)) {
		return fail(ReasonNotYetValid, "timestamp "+created.UTC().Format(time.RFC3339)+" is in the future")
	}
	if now.After(created.Add(v.cfg.TTL)) {
		return fail(ReasonExpired, "expired at "+created.Add(v.cfg.TTL).UTC().Format(time.RFC3339))
	}
	return nil
}

// md5Hex is the lowercase hex md5 of the concatenation of parts.
func md5Hex(parts ...string) [32]byte {
	var stack [256]byte
	b := stack[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	sum := md5.Sum(b)
	var out [32]byte
	hex.Encode(out[:], sum[:])
	return out
}

// matchMD5 reports whether sum(k) equals sig for some key k, comparing in constant time. Every
// key is tried, so timing does not tell which one matched.
func (v *Verifier) matchMD5(sig string, sum func(key string) [32]byte) bool {
	ok := 0
	for _, k := range v.cfg.Keys {
		want := sum(k)
		ok |= subtle.ConstantTimeCompare(want[:], []byte(sig))
	}
	return ok == 1
}

// isMD5Hex reports whether s has the documented form of a signature: 32 lowercase hex digits.
func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
