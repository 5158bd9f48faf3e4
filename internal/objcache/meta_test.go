package objcache

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func sampleMeta() *Meta {
	return &Meta{
		Kind: RecordObject, Status: 200, MustRevalidate: true, RequestTime: 1, ResponseTime: 2,
		InitialAge: 3 * time.Second, TTL: time.Hour, SWR: time.Minute, SIE: 2 * time.Minute,
		VaryFields: []string{"Accept"}, Primary: "example.com/a.jpg", Tags: []string{"t1"},
		Source: `e"v1"`, Header: http.Header{"Content-Type": {"image/webp"}},
	}
}

func sameMeta(a, b *Meta) bool {
	return a.Kind == b.Kind && a.Status == b.Status && a.MustRevalidate == b.MustRevalidate && a.NoCache == b.NoCache &&
		a.RequestTime == b.RequestTime && a.ResponseTime == b.ResponseTime && a.InitialAge == b.InitialAge &&
		a.TTL == b.TTL && a.SWR == b.SWR && a.SIE == b.SIE && reflect.DeepEqual(a.VaryFields, b.VaryFields) &&
		a.Primary == b.Primary && reflect.DeepEqual(a.Tags, b.Tags) && a.Source == b.Source &&
		reflect.DeepEqual(a.Header, b.Header)
}

func TestMetaRoundTripWithSource(t *testing.T) {
	m := sampleMeta()
	got, err := DecodeMeta(m.Encode())
	if err != nil || !sameMeta(got, m) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, m)
	}
}

// TestMetaVersion2StillDecodes: records written before variants existed (version 2, no source
// field) stay readable after an upgrade, so the cache survives it.
func TestMetaVersion2StillDecodes(t *testing.T) {
	m := sampleMeta()
	m.Source = ""
	v3 := m.Encode()
	// Version 2 is version 3 without the source string, an empty one being a single 0 byte
	// right after the tags.
	tagsEnd := bytes.Index(v3, []byte("t1")) + len("t1")
	v2 := append([]byte{metaVersionV2}, v3[1:tagsEnd]...)
	v2 = append(v2, v3[tagsEnd+1:]...)
	got, err := DecodeMeta(v2)
	if err != nil || !sameMeta(got, m) {
		t.Fatalf("version 2 record: %v\n got %+v\nwant %+v", err, got, m)
	}
	if _, err := DecodeMeta(append([]byte{9}, v3[1:]...)); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

// TestLazyAndFlag: each slot is computed once per record and keeps its value.
func TestLazyAndFlag(t *testing.T) {
	m := sampleMeta()
	calls := 0
	for range 3 {
		if !m.Flag(0, func() bool { calls++; return true }) || m.Flag(1, func() bool { calls++; return false }) {
			t.Fatal("flag values mixed up")
		}
		if v := m.Lazy(2, func() any { calls++; return "x" }).(string); v != "x" {
			t.Fatal(v)
		}
	}
	if calls != 3 {
		t.Fatalf("%d computations for 3 slots", calls)
	}
}
