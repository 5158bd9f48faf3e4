package purge

import (
	"errors"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ok := New(URL, []string{"img.example.com/a.jpg"}, false, now)
	if err := ok.Validate(); err != nil || len(ok.ID) != 32 {
		t.Fatalf("%v, id %q", err, ok.ID)
	}
	if New(URL, nil, false, now).ID == ok.ID {
		t.Fatal("two purges got one ID")
	}
	for _, tc := range []struct {
		name string
		p    Purge
	}{
		{"no id", Purge{Issued: now, Kind: URL, Targets: []string{"a"}}},
		{"id with space", Purge{ID: "a b", Issued: now, Kind: URL, Targets: []string{"a"}}},
		{"no issue time", Purge{ID: "x", Kind: URL, Targets: []string{"a"}}},
		{"no targets", Purge{ID: "x", Issued: now, Kind: URL}},
		{"unknown kind", Purge{ID: "x", Issued: now, Kind: "all", Targets: []string{"a"}}},
		{"bad tag", Purge{ID: "x", Issued: now, Kind: Tag, Targets: []string{"two words"}}},
		{"domain on a url purge", Purge{ID: "x", Issued: now, Kind: URL, Targets: []string{"a"}, Domain: "d"}},
	} {
		if err := tc.p.Validate(); !errors.Is(err, ErrBad) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
