package access

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// utc8 is the zone of type B timestamps.
var utc8 = time.FixedZone("UTC+8", 8*60*60)

// layoutB is type B's YYYYMMDDHHMM.
const layoutB = "200601021504"

// verifyA: /path?auth_key=<ts>-<rand>-<uid>-<md5(path-ts-rand-uid-key)>.
func (v *Verifier) verifyA(path, query string, now time.Time) (string, string, error) {
	raw, n := findParam(query, v.cfg.ParamA)
	if n == 0 {
		return "", "", fail(ReasonMissing, "no "+v.cfg.ParamA)
	}
	if n > 1 {
		return "", "", fail(ReasonMalformed, "repeated "+v.cfg.ParamA)
	}
	val, err := url.QueryUnescape(raw)
	if err != nil {
		return "", "", fail(ReasonMalformed, v.cfg.ParamA+" escaping")
	}
	ts, rest, ok1 := strings.Cut(val, "-")
	rnd, rest, ok2 := strings.Cut(rest, "-")
	uid, sig, ok3 := strings.Cut(rest, "-")
	created, okT := parseUnixDec(ts)
	if !(ok1 && ok2 && ok3 && okT) || rnd == "" || uid == "" || !isMD5Hex(sig) {
		return "", "", fail(ReasonMalformed, v.cfg.ParamA+" is not ts-rand-uid-md5")
	}
	if !v.matchMD5(sig, func(k string) [32]byte { return md5Hex(path, "-", ts, "-", rnd, "-", uid, "-", k) }) {
		return "", "", fail(ReasonMismatch, "")
	}
	if err := v.checkWindow(created, now); err != nil {
		return "", "", err
	}
	return path, stripParams(query, v.cfg.ParamA), nil
}

// verifyB: /<YYYYMMDDHHMM>/<md5(key+ts+path)>/path.
func (v *Verifier) verifyB(path, query string, now time.Time) (string, string, error) {
	ts, sig, file, ok := cutTwoSegments(path)
	if ts == "" || !allDigits(ts) {
		return "", "", fail(ReasonMissing, "no /<YYYYMMDDHHMM>/<md5> prefix")
	}
	created, err := time.ParseInLocation(layoutB, ts, utc8)
	if !ok || err != nil || len(ts) != len(layoutB) || !isMD5Hex(sig) {
		return "", "", fail(ReasonMalformed, "prefix is not /<YYYYMMDDHHMM>/<md5>")
	}
	if !v.matchMD5(sig, func(k string) [32]byte { return md5Hex(k, ts, file) }) {
		return "", "", fail(ReasonMismatch, "")
	}
	if err := v.checkWindow(created, now); err != nil {
		return "", "", err
	}
	return file, query, nil
}

// verifyC: /<md5>/<hexts>/path or path?KEY1=<md5>&KEY2=<hexts>, md5(key+path+hexts).
func (v *Verifier) verifyC(path, query string, now time.Time) (string, string, error) {
	if hasAnyParam(query, v.cfg.ParamC1, v.cfg.ParamC2) {
		return v.verifyCQuery(path, query, now)
	}
	sig, hexts, file, ok := cutTwoSegments(path)
	if len(sig) != 32 || !isHex(sig) {
		return "", "", fail(ReasonMissing, "no /<md5>/<hex time> prefix nor "+v.cfg.ParamC1)
	}
	if !ok {
		return "", "", fail(ReasonMalformed, "no path after /<md5>/<hex time>")
	}
	if err := v.checkC(file, sig, hexts, now); err != nil {
		return "", "", err
	}
	return file, query, nil
}

func (v *Verifier) verifyCQuery(path, query string, now time.Time) (string, string, error) {
	sig, n1 := findParam(query, v.cfg.ParamC1)
	hexts, n2 := findParam(query, v.cfg.ParamC2)
	if n1 != 1 || n2 != 1 {
		return "", "", fail(ReasonMalformed, "want one "+v.cfg.ParamC1+" and one "+v.cfg.ParamC2)
	}
	if err := v.checkC(path, sig, hexts, now); err != nil {
		return "", "", err
	}
	return path, stripParams(query, v.cfg.ParamC1, v.cfg.ParamC2), nil
}

func (v *Verifier) checkC(file, sig, hexts string, now time.Time) error {
	created, ok := parseUnixHex(hexts)
	if !ok || !isMD5Hex(sig) {
		return fail(ReasonMalformed, "want 32 lowercase hex md5 and 8 hex digits of time")
	}
	if !v.matchMD5(sig, func(k string) [32]byte { return md5Hex(k, file, hexts) }) {
		return fail(ReasonMismatch, "")
	}
	return v.checkWindow(created, now)
}

// verifyF: path?sign=<md5(key+path+ts)>&time=<ts>. The time is decimal Unix seconds; exactly 8
// characters are read as hex, the type C spelling some signers reuse (no decimal Unix time since
// 1973 has 8 digits, so the two never collide for real timestamps).
func (v *Verifier) verifyF(path, query string, now time.Time) (string, string, error) {
	sig, n1 := findParam(query, v.cfg.ParamSign)
	ts, n2 := findParam(query, v.cfg.ParamTime)
	if n1 == 0 && n2 == 0 {
		return "", "", fail(ReasonMissing, "no "+v.cfg.ParamSign+" and "+v.cfg.ParamTime)
	}
	var created time.Time
	ok := n1 == 1 && n2 == 1
	if ok && len(ts) == 8 {
		created, ok = parseUnixHex(ts)
	} else if ok {
		created, ok = parseUnixDec(ts)
	}
	if !ok || !isMD5Hex(sig) {
		return "", "", fail(ReasonMalformed, "want one "+v.cfg.ParamSign+"=<md5> and one "+v.cfg.ParamTime+"=<unix time>")
	}
	if !v.matchMD5(sig, func(k string) [32]byte { return md5Hex(k, path, ts) }) {
		return "", "", fail(ReasonMismatch, "")
	}
	if err := v.checkWindow(created, now); err != nil {
		return "", "", err
	}
	return path, stripParams(query, v.cfg.ParamSign, v.cfg.ParamTime), nil
}

// cutTwoSegments splits "/a/b/rest" into "a", "b" and "/rest"; ok is false when the path does
// not have two leading segments followed by a slash.
func cutTwoSegments(path string) (a, b, rest string, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return "", "", "", false
	}
	a, after, ok1 := strings.Cut(path[1:], "/")
	b, _, ok2 := strings.Cut(after, "/")
	if !ok1 || !ok2 {
		return a, "", "", false
	}
	return a, b, after[len(b):], true
}

// parseUnixDec reads 1 to 11 decimal digits (no sign) as Unix seconds.
func parseUnixDec(s string) (time.Time, bool) {
	if len(s) == 0 || len(s) > 11 || !allDigits(s) {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return time.Unix(n, 0), err == nil
}

// parseUnixHex reads exactly 8 hex digits, either case, as Unix seconds.
func parseUnixHex(s string) (time.Time, bool) {
	if len(s) != 8 || !isHex(s) {
		return time.Time{}, false
	}
	n, err := strconv.ParseUint(s, 16, 32)
	return time.Unix(int64(n), 0), err == nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
