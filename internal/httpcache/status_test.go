package httpcache

import (
	"testing"
	"time"
)

func TestStatusAppend(t *testing.T) {
	tests := []struct {
		name string
		s    Status
		want string
	}{
		{"RFC9211-2.1 hit", Status{Hit: true, TTL: 3597*time.Second + 900*time.Millisecond, HasTTL: true}, "pixcdn; hit; ttl=3597"},
		{"RFC9211-2.2 fill", Status{Fwd: "uri-miss", FwdStatus: 200, Stored: true, TTL: time.Minute, HasTTL: true},
			"pixcdn; fwd=uri-miss; fwd-status=200; stored; ttl=60"},
		{"RFC9211-2.7 collapsed", Status{Fwd: "miss", FwdStatus: 200, Collapsed: true}, "pixcdn; fwd=miss; fwd-status=200; collapsed"},
		{"RFC9211-2.4 stale ttl negative", Status{Hit: true, TTL: -500 * time.Millisecond, HasTTL: true}, "pixcdn; hit; ttl=-1"},
		{"zero ttl", Status{Hit: true, HasTTL: true}, "pixcdn; hit; ttl=0"},
		{"RFC9211-2.8 detail token", Status{Fwd: "bypass", Detail: "pass"}, "pixcdn; fwd=bypass; detail=pass"},
		{"RFC9211-2.8 detail string", Status{Fwd: "stale", Detail: `origin "down"`}, `pixcdn; fwd=stale; detail="origin \"down\""`},
		{"bare", Status{}, "pixcdn"},
		{"RFC9211-2 list: nearer the origin first", Status{Fwd: "uri-miss", FwdStatus: 200, Prior: "node-b; hit; ttl=50"},
			"node-b; hit; ttl=50, pixcdn; fwd=uri-miss; fwd-status=200"},
	}
	for _, tt := range tests {
		if got := string(tt.s.Append(nil, "pixcdn")); got != tt.want {
			t.Errorf("%s: Append = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := string(Status{Hit: true}.Append([]byte("Proxy; fwd=miss, "), "edge 1\n")); got != `Proxy; fwd=miss, "edge 1?"; hit` {
		t.Errorf("non-token cache name: %q", got)
	}
}

func TestStatusAppendAllocs(t *testing.T) {
	s := Status{Hit: true, TTL: 3597 * time.Second, HasTTL: true, Detail: "mem"}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = s.Append(buf[:0], "pixcdn") }); n != 0 {
		t.Errorf("Status.Append allocates %.0f times with capacity, want 0", n)
	}
}

func BenchmarkStatusAppend(b *testing.B) {
	s := Status{Fwd: "uri-miss", FwdStatus: 200, Stored: true, TTL: time.Minute, HasTTL: true}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.Append(buf[:0], "pixcdn")
	}
}
