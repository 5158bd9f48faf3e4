package objcache

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

func urlPurge(id string, issued time.Time, soft bool, urls ...string) (purge.Purge, []Ban) {
	p := purge.Purge{ID: id, Issued: issued, Kind: purge.URL, Targets: urls, Soft: soft}
	var bans []Ban
	for _, u := range urls {
		bans = append(bans, Ban{Kind: purge.URL, Domain: "example.com", Value: u})
	}
	return p, bans
}

// TestPurgeIsIdempotent: the same purge delivered twice bans once; an object fetched between
// the two deliveries survives the second.
func TestPurgeIsIdempotent(t *testing.T) {
	f := newFixture(t, "", nil, fixed("body"))
	f.get("/a")
	f.advance(time.Second)
	p, bans := urlPurge("p1", f.clock(), false, "example.com/a")
	res, err := f.cache.Purge(p, bans)
	if err != nil || !res.Applied || res.BanVersion != 1 || !slices.Equal(res.Cached, []bool{true}) {
		t.Fatalf("%+v %v", res, err)
	}
	f.advance(time.Second)
	if res, _ := f.get("/a"); res.Kind != Fetched {
		t.Fatalf("after the purge: %v", res.Kind)
	}
	p, bans = urlPurge("p1", p.Issued, false, "example.com/a") // redelivered
	res, _ = f.cache.Purge(p, bans)
	if res.Applied || res.BanVersion != 1 || f.cache.BanVersion() != 1 || res.Cached != nil {
		t.Fatalf("redelivery: %+v, version %d", res, f.cache.BanVersion())
	}
	if res, _ := f.get("/a"); res.Kind != Hit {
		t.Fatalf("the redelivered purge banned a fresh copy: %v", res.Kind)
	}
	if f.hits.Load() != 2 {
		t.Fatalf("origin hits %d", f.hits.Load())
	}
}

// TestBanTakesTheIssueTime: a purge that arrives late covers what was fetched before it was
// issued, not what was fetched after; bans that arrive out of issue order all hold.
func TestBanTakesTheIssueTime(t *testing.T) {
	f := newFixture(t, "", nil, fixed("body"))
	f.get("/before")
	f.advance(time.Second)
	issued := f.clock()
	f.advance(time.Second)
	f.get("/after") // fetched after the purge was issued, before it arrived
	f.advance(time.Second)
	p, bans := urlPurge("late", issued, false, "example.com/before", "example.com/after", "example.com/never")
	// What it found: only the copy fetched before it was issued.
	if res, _ := f.cache.Purge(p, bans); !slices.Equal(res.Cached, []bool{true, false, false}) {
		t.Fatalf("cached %v, want [true false false]", res.Cached)
	}
	// An older purge arriving later still: it must not hide the one above from lookups.
	old, oldBans := urlPurge("older", issued.Add(-time.Hour), false, "example.com/other")
	f.cache.Purge(old, oldBans)
	if res, _ := f.get("/before"); res.Kind != Fetched {
		t.Fatalf("fetched before the issue time: %v, want a miss", res.Kind)
	}
	if res, _ := f.get("/after"); res.Kind != Hit {
		t.Fatalf("fetched after the issue time: %v, want a hit", res.Kind)
	}
	list := *f.cache.bans.list.Load()
	for i := 1; i < len(list); i++ {
		if list[i-1].At > list[i].At {
			t.Fatalf("ban list not sorted by issue time: %+v", list)
		}
	}
}

// TestSoftPurge makes the object stale as of the purge: revalidated, still usable on errors.
func TestSoftPurge(t *testing.T) {
	f := newFixture(t, "", nil, fixed("body"))
	f.get("/s")
	f.advance(time.Second)
	p, bans := urlPurge("soft", f.clock(), true, "example.com/s")
	if res, _ := f.cache.Purge(p, bans); !slices.Equal(res.Cached, []bool{true}) {
		t.Fatalf("soft purge found %v", res.Cached)
	}
	f.origin.Close()
	if res, body := f.get("/s"); res.Kind != Stale || body != "body" {
		t.Fatalf("soft-purged object with the origin down: %v %q", res.Kind, body)
	}
}

// TestBansSurviveRestartAppendOnly: bans are appended to bans.jsonl, one line per ban, and
// come back after a restart with their IDs (a redelivery after the restart changes nothing).
func TestBansSurviveRestartAppendOnly(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir, nil, fixed("body"))
	f.get("/a")
	f.advance(time.Second)
	for i, id := range []string{"p1", "p2", "p3"} {
		p, bans := urlPurge(id, f.clock(), false, "example.com/a", "example.com/b")
		if _, err := f.cache.Purge(p, bans); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "bans.jsonl"))
		if n := strings.Count(string(data), `"kind":"url"`); n != 2*(i+1) {
			t.Fatalf("after %d purges the file has %d ban lines:\n%s", i+1, n, data)
		}
	}
	f.cache.Close()
	b, err := openBans(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if n := len(*b.list.Load()); n != 6 || b.version.Load() == 0 {
		t.Fatalf("reloaded %d bans, version %d", n, b.version.Load())
	}
	if _, fresh, _ := b.add("p2", f.clock(), []Ban{{Kind: purge.URL, Value: "x"}}); fresh {
		t.Fatal("a purge applied before the restart was applied again")
	}
	if b.maxLife.Load() == 0 {
		t.Fatal("the longest object lifetime was not kept")
	}
}

// TestBansFileTornAndDamaged: a last line cut by a crash is dropped (and the file mended so
// the next append starts a line); a damaged line elsewhere refuses to start.
func TestBansFileTornAndDamaged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bans.jsonl")
	good := `{"kind":"url","domain":"example.com","value":"example.com/a","at":1,"id":"p1"}` + "\n"
	os.WriteFile(path, []byte(good+`{"kind":"url","dom`), 0o600)
	b, err := openBans(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(*b.list.Load()); n != 1 {
		t.Fatalf("%d bans, want the 1 complete line", n)
	}
	b.add("p2", time.Unix(0, 2), []Ban{{Kind: purge.URL, Value: "example.com/b", At: 2, ID: "p2"}})
	b.close()
	b, err = openBans(dir)
	if err != nil {
		t.Fatalf("after mending and appending: %v", err)
	}
	b.close()
	os.WriteFile(path, []byte("garbage\n"+good), 0o600)
	if _, err := openBans(dir); err == nil || !strings.Contains(err.Error(), "bans.jsonl:1") {
		t.Fatalf("damaged line: %v", err)
	}
}

// TestBansMigrateFromJSON: the bans.json of earlier versions is taken over.
func TestBansMigrateFromJSON(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bans.json"), []byte(`{"bans":[{"kind":"prefix","domain":"example.com","value":"example.com/img/","at":5}],"max_life_ns":7}`), 0o600)
	b, err := openBans(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if list := *b.list.Load(); len(list) != 1 || list[0].Value != "example.com/img/" || b.maxLife.Load() != 7 {
		t.Fatalf("%+v life %d", list, b.maxLife.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, "bans.json")); !os.IsNotExist(err) {
		t.Fatalf("bans.json left behind: %v", err)
	}
}
