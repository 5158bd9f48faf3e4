package access

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// verifyHMAC: path?...&exp=<unix>&sig=<base64url(HMAC-SHA256(key, path + "?" + canonical))>, where
// canonical is every query piece but sig (exp included), decoded, re-encoded and sorted. Unlike the
// md5 types it covers the whole query, so no unsigned parameter can reach the origin.
func (v *Verifier) verifyHMAC(path, query string, now time.Time) (string, string, error) {
	sigRaw, n1 := findParam(query, HMACParamSig)
	expRaw, n2 := findParam(query, HMACParamExp)
	if n1 == 0 && n2 == 0 {
		return "", "", fail(ReasonMissing, "no "+HMACParamExp+" and "+HMACParamSig)
	}
	exp, okExp := parseUnixDec(expRaw)
	sig, okSig := decodeSig(sigRaw)
	if n1 != 1 || n2 != 1 || !okExp || !okSig {
		return "", "", fail(ReasonMalformed, "want one "+HMACParamExp+"=<unix time> and one "+HMACParamSig+"=<base64url sha256>")
	}
	canon, err := canonicalQuery(query, HMACParamSig)
	if err != nil {
		return "", "", fail(ReasonMalformed, "query escaping")
	}
	ok := 0
	for _, k := range v.keys {
		want := hmacSum(k, path, canon)
		if hmac.Equal(want[:], sig[:]) {
			ok = 1
		}
	}
	if ok == 0 {
		return "", "", fail(ReasonMismatch, "")
	}
	if err := v.checkExp(exp, now); err != nil {
		return "", "", err
	}
	return path, stripParams(query, HMACParamExp, HMACParamSig), nil
}

// checkExp: exp is the expiry itself, valid up to and including that second; an exp further out
// than TTL (plus skew) was not issued by a signer following this configuration.
func (v *Verifier) checkExp(exp, now time.Time) error {
	if now.After(exp) {
		return fail(ReasonExpired, "expired at "+exp.UTC().Format(time.RFC3339))
	}
	if exp.After(now.Add(v.cfg.TTL + v.cfg.ClockSkew)) {
		return fail(ReasonNotYetValid, "exp "+exp.UTC().Format(time.RFC3339)+" beyond the allowed lifetime")
	}
	return nil
}

// sigEncoding is strict so that one signature has exactly one spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

func decodeSig(s string) (sig [sha256.Size]byte, ok bool) {
	if len(s) != sigEncoding.EncodedLen(sha256.Size) {
		return sig, false
	}
	n, err := sigEncoding.Decode(sig[:], []byte(s))
	return sig, err == nil && n == sha256.Size
}

func hmacSum(key []byte, path, canon string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(path))
	m.Write([]byte{'?'})
	m.Write([]byte(canon))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// signHMAC appends exp and sig to query.
func (v *Verifier) signHMAC(path, query string, now time.Time) (string, error) {
	exp := now.Add(v.cfg.TTL).Unix()
	query = appendQuery(query, HMACParamExp+"="+strconv.FormatInt(exp, 10))
	canon, err := canonicalQuery(query, HMACParamSig)
	if err != nil {
		return "", err
	}
	sum := hmacSum(v.keys[0], path, canon)
	return appendQuery(query, HMACParamSig+"="+sigEncoding.EncodeToString(sum[:])), nil
}
