package access

import (
	"crypto/md5"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The public vectors (DESIGN.md "Field references"; Alibaba Cloud CDN's type A/B/C pages use the
// key aliyuncdnexp1234).
const vectorKey = "aliyuncdnexp1234"

const (
	otherKey   = "secondarykey-0123456789"
	unknownKey = "unknownkey-9876543210"
)

func mustVerifier(t testing.TB, cfg SignConfig) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier(%+v): %v", cfg, err)
	}
	return v
}

func TestVectors(t *testing.T) {
	tests := []struct {
		name       string
		typ        SignType
		cform      bool
		path, q    string
		now        time.Time
		wantPath   string
		wantQuery  string
		signedFrom string // the unsigned URL that Sign at now must turn into path?q
	}{
		{"A", SignA, false, "/video/standard/1K.html", "auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f",
			time.Unix(1444435200, 0), "/video/standard/1K.html", "", "/video/standard/1K.html"},
		{"B", SignB, false, "/201508150800/9044548ef1527deadafa49a890a377f0/4/44/44c0909bcfc20a01afaf256ca99a8b8b.mp3", "",
			time.Date(2015, 8, 15, 8, 0, 0, 0, utc8), "/4/44/44c0909bcfc20a01afaf256ca99a8b8b.mp3", "",
			"/4/44/44c0909bcfc20a01afaf256ca99a8b8b.mp3"},
		{"C path", SignC, false, "/a37fa50a5fb8f71214b1e7c95ec7a1bd/55CE8100/test.flv", "",
			time.Unix(0x55CE8100, 0), "/test.flv", "", "/test.flv"},
		{"C query", SignC, true, "/test.flv", "KEY1=a37fa50a5fb8f71214b1e7c95ec7a1bd&KEY2=55CE8100",
			time.Unix(0x55CE8100, 0), "/test.flv", "", "/test.flv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustVerifier(t, SignConfig{Type: tt.typ, Keys: []string{vectorKey}, TTL: 30 * time.Minute, CQueryForm: tt.cform})
			p, q, err := v.Verify(tt.path, tt.q, tt.now)
			if err != nil || p != tt.wantPath || q != tt.wantQuery {
				t.Fatalf("Verify = %q, %q, %v; want %q, %q, nil", p, q, err, tt.wantPath, tt.wantQuery)
			}
			signed, err := v.Sign(tt.signedFrom, tt.now, "0", "0")
			want := tt.path
			if tt.q != "" {
				want += "?" + tt.q
			}
			if err != nil || signed != want {
				t.Fatalf("Sign = %q, %v; want %q", signed, err, want)
			}
		})
	}
}

// TestTypeFByHand checks type F against an md5 computed here, independently of md5Hex.
func TestTypeFByHand(t *testing.T) {
	v := mustVerifier(t, SignConfig{Type: SignF, Keys: []string{vectorKey}, TTL: time.Hour})
	sum := fmt.Sprintf("%x", md5.Sum([]byte(vectorKey+"/video/standard/1K.html"+"1444435200")))
	now := time.Unix(1444435200, 0)
	for _, q := range []string{"sign=" + sum + "&time=1444435200", "time=1444435200&x=1&sign=" + sum} {
		p, rest, err := v.Verify("/video/standard/1K.html", q, now)
		if err != nil || p != "/video/standard/1K.html" || strings.Contains(rest, "sign") || strings.Contains(rest, "time") {
			t.Errorf("Verify(%q) = %q, %q, %v", q, p, rest, err)
		}
	}
	hexSum := fmt.Sprintf("%x", md5.Sum([]byte(vectorKey+"/a.jpg"+"56185500")))
	if _, _, err := v.Verify("/a.jpg", "sign="+hexSum+"&time=56185500", now); err != nil {
		t.Errorf("hex time: %v", err)
	}
	signed, err := v.Sign("https://cdn.example.com/video/standard/1K.html", now, "", "")
	if want := "https://cdn.example.com/video/standard/1K.html?sign=" + sum + "&time=1444435200"; err != nil || signed != want {
		t.Errorf("Sign = %q, %v; want %q", signed, err, want)
	}
}

// splitSigned parses a URL that Sign produced the way the edge sees a request.
func splitSigned(t testing.TB, signed string) (string, string) {
	t.Helper()
	u, err := url.Parse(signed)
	if err != nil {
		t.Fatalf("parse signed %q: %v", signed, err)
	}
	return u.EscapedPath(), u.RawQuery
}

var allTypes = []struct {
	name  string
	typ   SignType
	cform bool
}{{"A", SignA, false}, {"B", SignB, false}, {"C", SignC, false}, {"Cq", SignC, true}, {"F", SignF, false}, {"HMAC", SignHMAC, false}}

func TestWindowEdges(t *testing.T) {
	const ttl, skew = 30 * time.Minute, 2 * time.Minute
	t0 := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC) // a minute boundary, for type B
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"at signing", t0, nil},
		{"exactly at TTL", t0.Add(ttl), nil},
		{"one second after TTL", t0.Add(ttl + time.Second), ErrExpired},
		{"long after", t0.Add(48 * time.Hour), ErrExpired},
		{"future within skew", t0.Add(-skew), nil},
		{"future one second beyond skew", t0.Add(-skew - time.Second), ErrNotYetValid},
	}
	for _, ty := range allTypes {
		v := mustVerifier(t, SignConfig{Type: ty.typ, Keys: []string{otherKey}, TTL: ttl, ClockSkew: skew, CQueryForm: ty.cform})
		signed, err := v.Sign("/img/a.png?w=100", t0, "r1", "u1")
		if err != nil {
			t.Fatalf("%s: Sign: %v", ty.name, err)
		}
		p, q := splitSigned(t, signed)
		for _, tt := range tests {
			_, _, err := v.Verify(p, q, tt.now)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("%s %s: Verify(%q, %q) err = %v, want %v", ty.name, tt.name, p, q, err, tt.want)
			}
		}
	}
}

func TestNegativeSkewMeansNone(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	v := mustVerifier(t, SignConfig{Type: SignF, Keys: []string{otherKey}, TTL: time.Minute, ClockSkew: -1})
	p, q := splitSigned(t, must(v.Sign("/x", t0, "", "")))
	if _, _, err := v.Verify(p, q, t0); err != nil {
		t.Errorf("at signing: %v", err)
	}
	if _, _, err := v.Verify(p, q, t0.Add(-time.Second)); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("one second early: %v, want not-yet-valid", err)
	}
	d := mustVerifier(t, SignConfig{Type: SignF, Keys: []string{otherKey}, TTL: time.Minute})
	if d.Config().ClockSkew != DefaultClockSkew {
		t.Errorf("default skew = %v", d.Config().ClockSkew)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestKeyRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, ty := range allTypes {
		cfg := SignConfig{Type: ty.typ, TTL: time.Hour, CQueryForm: ty.cform}
		signWith := func(key string) (string, string) {
			c := cfg
			c.Keys = []string{key}
			return splitSigned(t, must(mustVerifier(t, c).Sign("/a/b.css?v=3", now, "", "")))
		}
		cfg.Keys = []string{vectorKey, otherKey}
		both := mustVerifier(t, cfg)
		for _, key := range []string{vectorKey, otherKey} {
			p, q := signWith(key)
			if gp, gq, err := both.Verify(p, q, now); err != nil || gp != "/a/b.css" || gq != "v=3" {
				t.Errorf("%s signed with %s: %q %q %v", ty.name, key, gp, gq, err)
			}
		}
		p, q := signWith(unknownKey)
		if _, _, err := both.Verify(p, q, now); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s unknown key: %v, want mismatch", ty.name, err)
		}
		// The primary signs.
		if got, want := must(both.Sign("/a/b.css?v=3", now, "", "")), signWithURL(t, cfg, vectorKey, now); got != want {
			t.Errorf("%s: Sign used a key other than Keys[0]: %q vs %q", ty.name, got, want)
		}
	}
}

func signWithURL(t *testing.T, cfg SignConfig, key string, now time.Time) string {
	cfg.Keys = []string{key}
	return must(mustVerifier(t, cfg).Sign("/a/b.css?v=3", now, "", ""))
}

func TestStripping(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, ty := range allTypes {
		v := mustVerifier(t, SignConfig{Type: ty.typ, Keys: []string{otherKey}, TTL: time.Hour, CQueryForm: ty.cform})
		for _, in := range []struct{ url, path, query string }{
			{"/p/x.jpg", "/p/x.jpg", ""},
			{"/p/x.jpg?z=1&a=2&m=%20&a=1", "/p/x.jpg", "z=1&a=2&m=%20&a=1"},
			{"https://h.example/p%20q/x.jpg?w=1#frag", "/p%20q/x.jpg", "w=1"},
			{"/", "/", ""},
		} {
			signed := must(v.Sign(in.url, now, "", ""))
			p, q := splitSigned(t, signed)
			gp, gq, err := v.Verify(p, q, now)
			if err != nil || gp != in.path || gq != in.query {
				t.Errorf("%s %s: signed %q -> Verify = %q, %q, %v; want %q, %q", ty.name, in.url, signed, gp, gq, err, in.path, in.query)
			}
		}
	}
}

// TestStripKeepsOrder: parameters a client adds around the md5 types' signing parameters reach
// the origin in their order, and only the signing parameters go.
func TestStripKeepsOrder(t *testing.T) {
	v := mustVerifier(t, SignConfig{Type: SignA, Keys: []string{vectorKey}, TTL: time.Hour})
	q := "b=2&auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f&a=1&&c"
	_, gq, err := v.Verify("/video/standard/1K.html", q, time.Unix(1444435200, 0))
	if err != nil || gq != "b=2&a=1&&c" {
		t.Errorf("Verify query = %q, %v; want b=2&a=1&&c", gq, err)
	}
}

func TestHMACCoversQuery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := mustVerifier(t, SignConfig{Type: SignHMAC, Keys: []string{otherKey}, TTL: time.Hour})
	p, q := splitSigned(t, must(v.Sign("/a.js?b=2&a=1", now, "", "")))
	if _, _, err := v.Verify(p, q+"&evil=1", now); !errors.Is(err, ErrMismatch) {
		t.Errorf("added parameter: %v, want mismatch", err)
	}
	if _, _, err := v.Verify(p, strings.Replace(q, "b=2", "b=3", 1), now); !errors.Is(err, ErrMismatch) {
		t.Errorf("changed parameter: %v, want mismatch", err)
	}
	reordered := strings.Replace(q, "b=2&a=1", "a=1&b=2", 1)
	if _, gq, err := v.Verify(p, reordered, now); err != nil || gq != "a=1&b=2" {
		t.Errorf("reordered: %q, %v", gq, err)
	}
	if _, _, err := v.Verify(p+"x", q, now); !errors.Is(err, ErrMismatch) {
		t.Errorf("changed path: %v, want mismatch", err)
	}
}

// TestTamper: changed paths and timestamps give mismatch, never expired or ok.
func TestTamper(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, ty := range allTypes {
		v := mustVerifier(t, SignConfig{Type: ty.typ, Keys: []string{otherKey}, TTL: time.Hour, CQueryForm: ty.cform})
		p, q := splitSigned(t, must(v.Sign("/a/b.png", now, "", "")))
		if _, _, err := v.Verify(strings.Replace(p, "b.png", "c.png", 1), q, now); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s other path: %v", ty.name, err)
		}
		// Move the timestamp: one second, or one minute for B's minute format.
		later := now.Add(time.Minute)
		p2, q2 := splitSigned(t, must(v.Sign("/a/b.png", later, "", "")))
		tp, tq := swapTime(ty.typ, p, q, p2, q2)
		if _, _, err := v.Verify(tp, tq, now); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s moved timestamp (%q %q): %v", ty.name, tp, tq, err)
		}
	}
}

// swapTime puts the second URL's timestamp into the first URL's signature.
func swapTime(typ SignType, p, q, p2, q2 string) (string, string) {
	seg := func(s string, i int) string { return strings.Split(s, "/")[i] }
	switch {
	case typ == SignB:
		return strings.Replace(p, seg(p, 1), seg(p2, 1), 1), q
	case typ == SignC && q == "":
		return strings.Replace(p, seg(p, 2), seg(p2, 2), 1), q
	}
	v1, _ := url.ParseQuery(q)
	v2, _ := url.ParseQuery(q2)
	for _, name := range []string{"time", "KEY2", "exp"} {
		if v1.Has(name) {
			return p, strings.Replace(q, name+"="+v1.Get(name), name+"="+v2.Get(name), 1)
		}
	}
	a1, a2 := v1.Get("auth_key"), v2.Get("auth_key")
	return p, strings.Replace(q, a1[:10], a2[:10], 1)
}

func TestMalformed(t *testing.T) {
	now := time.Unix(1444435200, 0)
	const md = "80cd3862d699b7118eed99103f2a3a4f"
	tests := []struct {
		typ     SignType
		path, q string
		want    error
	}{
		{SignA, "/x", "", ErrMissing},
		{SignA, "/x", "a=1&auth=2", ErrMissing},
		{SignA, "/x", "auth_key=", ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0", ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + md + "-1", ErrMalformed},
		{SignA, "/x", "auth_key=-1444435200-0-0-" + md, ErrMalformed},
		{SignA, "/x", "auth_key=14444352x0-0-0-" + md, ErrMalformed},
		{SignA, "/x", "auth_key=1444435200--0-" + md, ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + strings.ToUpper(md), ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + md[:31], ErrMalformed},
		{SignA, "/x", "auth_key=%zz", ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + md + "&auth_key=1444435200-0-0-" + md, ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + md + "&auth%5Fkey=1", ErrMalformed},
		{SignA, "/x", "auth_key=144443520000000-0-0-" + md, ErrMalformed},
		{SignA, "/x", "auth_key=1444435200-0-0-" + md, ErrMismatch},
		{SignB, "/x", "", ErrMissing},
		{SignB, "/", "", ErrMissing},
		{SignB, "", "", ErrMissing},
		{SignB, "/201508150800", "", ErrMalformed},
		{SignB, "/201508150800/" + md, "", ErrMalformed},
		{SignB, "/20150815080/" + md + "/x", "", ErrMalformed},
		{SignB, "/201513150800/" + md + "/x", "", ErrMalformed},
		{SignB, "/201502300800/" + md + "/x", "", ErrMalformed},
		{SignB, "/201508150860/" + md + "/x", "", ErrMalformed},
		{SignB, "/201508150800/xyz/x", "", ErrMalformed},
		{SignB, "/201508150800/" + md + "/x", "", ErrMismatch},
		{SignC, "/x", "", ErrMissing},
		{SignC, "/" + md, "", ErrMalformed},
		{SignC, "/" + md + "/55CE8100", "", ErrMalformed},
		{SignC, "/" + md + "/55CE810/x", "", ErrMalformed},
		{SignC, "/" + md + "/55CE8100z/x", "", ErrMalformed},
		{SignC, "/" + strings.ToUpper(md) + "/55CE8100/x", "", ErrMalformed},
		{SignC, "/x", "KEY1=" + md, ErrMalformed},
		{SignC, "/x", "KEY2=55CE8100", ErrMalformed},
		{SignC, "/x", "KEY1=" + md + "&KEY2=55CE8100&KEY2=55CE8100", ErrMalformed},
		{SignC, "/x", "KEY1=" + md + "&KEY2=55CE8100", ErrMismatch},
		{SignF, "/x", "", ErrMissing},
		{SignF, "/x", "sign=" + md, ErrMalformed},
		{SignF, "/x", "time=1444435200", ErrMalformed},
		{SignF, "/x", "sign=" + md + "&time=", ErrMalformed},
		{SignF, "/x", "sign=" + md + "&time=+1444435200", ErrMalformed},
		{SignF, "/x", "sign=" + md + "&time=1444435200&time=1444435200", ErrMalformed},
		{SignF, "/x", "sign=" + md + "&time=1444435200", ErrMismatch},
		{SignHMAC, "/x", "", ErrMissing},
		{SignHMAC, "/x", "exp=1444435200", ErrMalformed},
		{SignHMAC, "/x", "exp=1444435200&sig=abc", ErrMalformed},
		{SignHMAC, "/x", "exp=1444435200&sig=" + strings.Repeat("A", 43) + "=", ErrMalformed},
		{SignHMAC, "/x", "exp=1444435200&sig=" + strings.Repeat("A", 42) + "B", ErrMalformed}, // non-canonical trailing bits
		{SignHMAC, "/x", "exp=1444435200&sig=" + strings.Repeat("+", 43), ErrMalformed},
		{SignHMAC, "/x", "exp=1444435200&sig=" + strings.Repeat("A", 43) + "&x=%zz", ErrMalformed},
		{SignHMAC, "/x", "exp=1444435200&sig=" + strings.Repeat("A", 43), ErrMismatch},
	}
	for _, tt := range tests {
		v := mustVerifier(t, SignConfig{Type: tt.typ, Keys: []string{vectorKey}, TTL: time.Hour})
		p, q, err := v.Verify(tt.path, tt.q, now)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s Verify(%q, %q) = %q, %q, %v; want %v", tt.typ, tt.path, tt.q, p, q, err, tt.want)
			continue
		}
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Reason() != tt.want.(*VerifyError).Reason() {
			t.Errorf("%s Verify(%q, %q): reason of %v", tt.typ, tt.path, tt.q, err)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		typ SignType
		url string
	}{
		{SignA, "relative/path"},
		{SignA, "http://user:pw@h/x"},
		{SignA, "mailto:x@example.com"},
		{SignA, "http://h"},
		{SignA, "/x?auth_key=1"},
		{SignF, "/x?time=1"},
		{SignC, "/x?KEY1=1"},
		{SignHMAC, "/x?sig=1"},
		{SignHMAC, "/x?a=%zz"},
		{SignA, "%zz"},
	}
	for _, tt := range tests {
		v := mustVerifier(t, SignConfig{Type: tt.typ, Keys: []string{otherKey}, TTL: time.Hour})
		if got, err := v.Sign(tt.url, now, "", ""); err == nil {
			t.Errorf("%s Sign(%q) = %q, want error", tt.typ, tt.url, got)
		}
	}
	v := mustVerifier(t, SignConfig{Type: SignA, Keys: []string{otherKey}, TTL: time.Hour})
	if got, err := v.Sign("/x", now, "a-b", "0"); err == nil {
		t.Errorf("rand with '-': %q", got)
	}
	c := mustVerifier(t, SignConfig{Type: SignC, Keys: []string{otherKey}, TTL: time.Hour})
	if got, err := c.Sign("/x", time.Unix(1<<33, 0), "", ""); err == nil {
		t.Errorf("type C after 2106: %q", got)
	}
}

func TestSignConfigValidate(t *testing.T) {
	good := SignConfig{Type: SignA, Keys: []string{vectorKey}, TTL: time.Minute}
	tests := []struct {
		name   string
		mutate func(*SignConfig)
		ok     bool
	}{
		{"good", func(*SignConfig) {}, true},
		{"each type", func(c *SignConfig) { c.Type = SignHMAC }, true},
		{"unknown type", func(c *SignConfig) { c.Type = "D" }, false},
		{"empty type", func(c *SignConfig) { c.Type = "" }, false},
		{"no keys", func(c *SignConfig) { c.Keys = nil }, false},
		{"short key", func(c *SignConfig) { c.Keys = []string{vectorKey, "short"} }, false},
		{"zero TTL", func(c *SignConfig) { c.TTL = 0 }, false},
		{"negative TTL", func(c *SignConfig) { c.TTL = -time.Second }, false},
		{"bad param", func(c *SignConfig) { c.ParamA = "a&b" }, false},
		{"escaped param", func(c *SignConfig) { c.ParamSign = "s%20" }, false},
		{"same C names", func(c *SignConfig) { c.ParamC1, c.ParamC2 = "k", "k" }, false},
		{"same F names", func(c *SignConfig) { c.ParamSign = "time" }, false},
		{"custom names", func(c *SignConfig) { c.ParamA, c.ParamSign, c.ParamTime = "tok", "s", "t" }, true},
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		err := c.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if _, nerr := NewVerifier(c); (nerr == nil) != tt.ok {
			t.Errorf("%s: NewVerifier = %v, want ok=%v", tt.name, nerr, tt.ok)
		}
	}
}

func TestCustomParamNames(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := mustVerifier(t, SignConfig{Type: SignF, Keys: []string{otherKey}, TTL: time.Hour, ParamSign: "s", ParamTime: "t"})
	signed := must(v.Sign("/x?sign=keep", now, "", ""))
	if !strings.Contains(signed, "&s=") || !strings.Contains(signed, "&t=") {
		t.Fatalf("signed = %q", signed)
	}
	p, q := splitSigned(t, signed)
	if _, gq, err := v.Verify(p, q, now); err != nil || gq != "sign=keep" {
		t.Errorf("Verify = %q, %v", gq, err)
	}
}

func TestVerifyErrorText(t *testing.T) {
	err := fail(ReasonExpired, "expired at x")
	if err.Error() != "access: signature expired: expired at x" || errors.Is(err, ErrMismatch) || !errors.Is(fmt.Errorf("w: %w", err), ErrExpired) {
		t.Errorf("error %q does not behave", err)
	}
}
