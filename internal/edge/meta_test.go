package edge

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func sampleMeta() *meta {
	return &meta{
		kind: kindObject, status: 200, mustReval: true, requestTime: 1, responseTime: 2,
		initialAge: 3 * time.Second, ttl: time.Hour, swr: time.Minute, sie: 2 * time.Minute,
		varyFields: []string{"Accept"}, primary: "example.com/a.jpg", tags: []string{"t1"},
		source: `e"v1"`, header: http.Header{"Content-Type": {"image/webp"}},
	}
}

func sameMeta(a, b *meta) bool {
	return a.kind == b.kind && a.status == b.status && a.mustReval == b.mustReval && a.noCache == b.noCache &&
		a.requestTime == b.requestTime && a.responseTime == b.responseTime && a.initialAge == b.initialAge &&
		a.ttl == b.ttl && a.swr == b.swr && a.sie == b.sie && reflect.DeepEqual(a.varyFields, b.varyFields) &&
		a.primary == b.primary && reflect.DeepEqual(a.tags, b.tags) && a.source == b.source &&
		reflect.DeepEqual(a.header, b.header)
}

func TestMetaRoundTripWithSource(t *testing.T) {
	m := sampleMeta()
	got, err := decodeMeta(m.encode())
	if err != nil || !sameMeta(got, m) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, m)
	}
}

// TestMetaVersion2StillDecodes: records written before variants existed (version 2, no source
// field) stay readable after an upgrade, so the cache survives it.
func TestMetaVersion2StillDecodes(t *testing.T) {
	m := sampleMeta()
	m.source = ""
	v3 := m.encode()
	// Version 2 is version 3 without the source string, an empty one being a single 0 byte
	// right after the tags.
	tagsEnd := bytes.Index(v3, []byte("t1")) + len("t1")
	v2 := append([]byte{metaVersionV2}, v3[1:tagsEnd]...)
	v2 = append(v2, v3[tagsEnd+1:]...)
	got, err := decodeMeta(v2)
	if err != nil || !sameMeta(got, m) {
		t.Fatalf("version 2 record: %v\n got %+v\nwant %+v", err, got, m)
	}
	if _, err := decodeMeta(append([]byte{9}, v3[1:]...)); err == nil {
		t.Fatal("an unknown version decoded")
	}
}
