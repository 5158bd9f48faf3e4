package metrics

import (
	"os"
	"regexp"
	"testing"
	"time"
)

// TestDocsListEveryMetric keeps docs/metrics.md in step with what is registered.
func TestDocsListEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, n := range regexp.MustCompile("`(pixcdn_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[n[1]] = true
	}
	m, reg := newTest(t, DefaultConfig())
	m.Request(&RequestInfo{Domain: "d", CacheStatus: "hit", Status: 200, BytesSent: 1})
	m.OriginRequest("o", "ok", 200, time.Millisecond, 1)
	m.Coalesced("d")
	m.Purge("url", true)
	m.SetStoreStats(func() StoreStats { return StoreStats{} })
	m.SetOriginHealth(func() []OriginServerHealth { return []OriginServerHealth{{Origin: "o", Server: "s"}} })
	m.SetAccessLogStats(func() AccessLogStats { return AccessLogStats{} })
	m.SetImageStats(func() ImageStats { return ImageStats{} })
	m.SetNodeInfo(func() NodeInfo { return NodeInfo{ConfigVersion: "v", BanVersion: 1, Control: &ControlInfo{}} })
	m.SetPeerStats(func() []PeerStats { return []PeerStats{{Peer: "node-b"}} }, func() int { return 3 })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 20 {
		t.Fatalf("only %d metric families gathered", len(mfs))
	}
	registered := map[string]bool{}
	for _, mf := range mfs {
		registered[mf.GetName()] = true
		if !documented[mf.GetName()] {
			t.Errorf("%s is registered but not in docs/metrics.md", mf.GetName())
		}
	}
	for n := range documented {
		if !registered[n] && !registered[regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(n, "")] {
			t.Errorf("docs/metrics.md names %s, which is not registered", n)
		}
	}
}
