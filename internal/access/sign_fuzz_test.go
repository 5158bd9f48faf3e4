package access

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// fuzzNow is inside every seed's window, so the fuzzer reaches the signature checks.
var fuzzNow = time.Unix(1444435200, 0)

func fuzzVerifier(t *testing.T, typ SignType) *Verifier {
	return mustVerifier(t, SignConfig{Type: typ, Keys: []string{vectorKey, otherKey}, TTL: time.Hour})
}

// checkVerify is what every parser fuzz target asserts: no panic, a reason from the list on
// failure, and on success no signing part left in what goes on to the cache and the origin.
func checkVerify(t *testing.T, v *Verifier, path, query string) {
	p, q, err := v.Verify(path, query, fuzzNow)
	if err != nil {
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("Verify(%q, %q): error %v is not a *VerifyError", path, query, err)
		}
		switch Reason(ve.Reason()) {
		case ReasonMissing, ReasonMalformed, ReasonExpired, ReasonNotYetValid, ReasonMismatch:
		default:
			t.Fatalf("unknown reason %q", ve.Reason())
		}
		return
	}
	if names := v.signParams(); len(names) > 0 && hasAnyParam(q, names...) {
		t.Fatalf("Verify(%q, %q) left signing parameters in %q", path, query, q)
	}
	if len(p) >= len(path) && (v.cfg.Type == SignB || (v.cfg.Type == SignC && q == query)) {
		t.Fatalf("Verify(%q, %q) kept the signature segments: %q", path, query, p)
	}
}

func FuzzVerifyA(f *testing.F) {
	f.Add("/video/standard/1K.html", "auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f")
	f.Add("/x", "a=1&auth_key=1-2-3-4&b")
	f.Add("/x", "auth%5Fkey=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f")
	f.Fuzz(func(t *testing.T, path, query string) { checkVerify(t, fuzzVerifier(t, SignA), path, query) })
}

func FuzzVerifyB(f *testing.F) {
	f.Add("/201508150800/9044548ef1527deadafa49a890a377f0/4/44/44c0909bcfc20a01afaf256ca99a8b8b.mp3", "")
	f.Add("/201508150800/", "")
	f.Add("//", "x=1")
	f.Fuzz(func(t *testing.T, path, query string) { checkVerify(t, fuzzVerifier(t, SignB), path, query) })
}

func FuzzVerifyC(f *testing.F) {
	f.Add("/a37fa50a5fb8f71214b1e7c95ec7a1bd/55CE8100/test.flv", "")
	f.Add("/test.flv", "KEY1=a37fa50a5fb8f71214b1e7c95ec7a1bd&KEY2=55CE8100")
	f.Add("/test.flv", "KEY2=55CE8100")
	f.Fuzz(func(t *testing.T, path, query string) { checkVerify(t, fuzzVerifier(t, SignC), path, query) })
}

func FuzzVerifyF(f *testing.F) {
	f.Add("/video/standard/1K.html", "sign=6b9c1e0c7d0a1f5e8f5f0f1f0e0d0c0b&time=1444435200")
	f.Add("/x", "time=56185500&sign=")
	f.Fuzz(func(t *testing.T, path, query string) { checkVerify(t, fuzzVerifier(t, SignF), path, query) })
}

func FuzzVerifyHMAC(f *testing.F) {
	f.Add("/x", "exp=1444435200&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("/x", "b=%20&a&exp=1&sig=")
	f.Fuzz(func(t *testing.T, path, query string) { checkVerify(t, fuzzVerifier(t, SignHMAC), path, query) })
}

// FuzzSignVerifyRoundTrip: for arbitrary paths and queries, whatever Sign accepts verifies, at the
// signing time and with the secondary key, and comes back as the unsigned path and query.
func FuzzSignVerifyRoundTrip(f *testing.F) {
	f.Add("/img/a b.png", "w=100&h=%2F", int64(1444435200), uint8(0))
	f.Add("/%2F/../x", "", int64(0), uint8(3))
	f.Add("/ü/;x", "a=1&&b", int64(4294967295), uint8(5))
	f.Fuzz(func(t *testing.T, path, query string, sec int64, which uint8) {
		ty := allTypes[int(which)%len(allTypes)]
		if sec < 0 || sec > 1<<32-1 {
			sec &= 1<<32 - 1
		}
		now := time.Unix(sec, 0)
		// Keys in rotated order: Sign uses otherKey, Verify must still find it.
		signer := mustVerifier(t, SignConfig{Type: ty.typ, Keys: []string{otherKey}, TTL: time.Hour, CQueryForm: ty.cform})
		verifier := mustVerifier(t, SignConfig{Type: ty.typ, Keys: []string{vectorKey, otherKey}, TTL: time.Hour, CQueryForm: ty.cform})
		u := &url.URL{Scheme: "https", Host: "cdn.example", Path: "/" + path, RawQuery: query}
		raw := u.String()
		signed, err := signer.Sign(raw, now, "r", "u")
		if err != nil {
			return // unsignable input (bad escaping, already signed); Verify is fuzzed separately
		}
		want, _ := url.Parse(raw)
		p, q := splitSigned(t, signed)
		gp, gq, err := verifier.Verify(p, q, now)
		if err != nil {
			t.Fatalf("%s: %q signed as %q: Verify: %v", ty.name, raw, signed, err)
		}
		if gp != want.EscapedPath() || gq != stripParams(want.RawQuery) {
			t.Fatalf("%s: %q signed as %q: Verify = %q, %q; want %q, %q", ty.name, raw, signed, gp, gq, want.EscapedPath(), stripParams(want.RawQuery))
		}
	})
}
