package objcache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// Purges are lazy, in the manner of Varnish's bans: a purge appends bans (what each matches and
// when its purge was issued) and returns at once, whatever it covers; a lookup checks the object
// against the bans issued after the object was fetched. Each object remembers the ban-list
// version it was last found clean against, so a hit checks only bans it has not seen. Hard bans
// make the object a miss (and delete it); soft bans make it stale as of the ban, so the next
// request revalidates and stale-if-error can still serve it.

// Ban is one purge target resolved to what the cache matches.
type Ban struct {
	Kind   purge.Kind `json:"kind"`
	Domain string     `json:"domain,omitempty"` // configured domain name; "" for an all-domain tag ban
	Value  string     `json:"value,omitempty"`  // url: a URL key; prefix: key prefix; tag: the tag
	At     int64      `json:"at"`               // the purge's issue time, unix ns: objects requested before it are banned
	Soft   bool       `json:"soft,omitempty"`
	ID     string     `json:"id,omitempty"` // the purge it belongs to
}

// matches reports whether the ban covers an object of domain d.
func (b *Ban) matches(domain string, m *Meta) bool {
	switch b.Kind {
	case purge.URL:
		return urlPart(m.Primary) == b.Value // every keyed-field variant of the URL
	case purge.Prefix:
		return strings.HasPrefix(m.Primary, b.Value)
	case purge.Domain:
		return domain == b.Domain
	case purge.Tag:
		return (b.Domain == "" || b.Domain == domain) && slices.Contains(m.Tags, b.Value)
	}
	return false
}

// bans is the ban list: immutable snapshots swapped under a mutex, read without locks. It
// survives restarts in an append-only file of JSON lines: one per ban, and one for each new
// longest object lifetime; a purge appends its lines and syncs, and the file is rewritten
// only when expired lines outnumber the live ones.
type bans struct {
	mu      sync.Mutex
	list    atomic.Pointer[[]Ban] // sorted by At, oldest first
	version atomic.Uint64         // bumped by every purge applied; 0 = never purged
	applied map[string]uint64     // purge IDs in the list → the version they made
	file    *os.File              // nil: memory only
	path    string
	lines   int // lines in the file, for compaction
	// maxLife is the longest an object could still be served (TTL plus stale windows) of any
	// object stored so far: bans older than that can match nothing usable and are dropped.
	maxLife atomic.Int64
}

// bansLine is one line of the file: a ban, or a lifetime record.
type bansLine struct {
	Ban
	MaxLife int64 `json:"max_life_ns,omitempty"`
}

func openBans(dir string) (*bans, error) {
	b := &bans{applied: map[string]uint64{}}
	empty := []Ban{}
	b.list.Store(&empty)
	if dir == "" {
		return b, nil
	}
	b.path = filepath.Join(dir, "bans.jsonl")
	list, lines, err := b.read()
	if err != nil {
		return nil, err
	}
	if err := b.migrate(dir, &list); err != nil {
		return nil, err
	}
	b.lines = lines
	b.setList(list)
	if len(list) > 0 {
		b.version.Store(1)
	}
	for _, x := range list {
		if x.ID != "" {
			b.applied[x.ID] = 1
		}
	}
	if b.file, err = os.OpenFile(b.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

// read loads the file. A last line cut short (a crash while appending) is ignored; any other
// bad line is an error, so a damaged file is never half believed.
func (b *bans) read() ([]Ban, int, error) {
	data, err := os.ReadFile(b.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1] // the torn last line: cut it, so the next append starts a line
		if err := os.Truncate(b.path, int64(len(data))); err != nil {
			return nil, 0, err
		}
	}
	var list []Ban
	lines := 0
	for line := range bytes.Lines(data) {
		lines++
		var l bansLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", b.path, lines, err)
		}
		if l.MaxLife > b.maxLife.Load() {
			b.maxLife.Store(l.MaxLife)
		}
		if l.Kind != "" {
			list = append(list, l.Ban)
		}
	}
	slices.SortStableFunc(list, func(x, y Ban) int { return cmpInt64(x.At, y.At) })
	return list, lines, nil
}

// migrate takes over the bans.json of earlier versions (one JSON document rewritten per purge).
func (b *bans) migrate(dir string, list *[]Ban) error {
	old := filepath.Join(dir, "bans.json")
	data, err := os.ReadFile(old)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var f struct {
		Bans    []Ban `json:"bans"`
		MaxLife int64 `json:"max_life_ns"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s: %w", old, err)
	}
	if f.MaxLife > b.maxLife.Load() {
		b.maxLife.Store(f.MaxLife)
	}
	*list = append(*list, f.Bans...)
	slices.SortStableFunc(*list, func(x, y Ban) int { return cmpInt64(x.At, y.At) })
	if err := b.rewrite(*list); err != nil {
		return err
	}
	return os.Remove(old)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (b *bans) setList(list []Ban) { b.list.Store(&list) }

// noteLifetime records how long an object may be served, in the file when it is a new longest:
// after a restart, bans are kept as long as any object stored before it could still be served.
func (b *bans) noteLifetime(d time.Duration) {
	if int64(d) <= b.maxLife.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if int64(d) <= b.maxLife.Load() {
		return
	}
	b.maxLife.Store(int64(d))
	b.append(bansLine{MaxLife: int64(d)}) // best effort: a failed write keeps the longer life in memory
}

// add applies the bans of purge id at now, unless id was applied already. It returns the
// version the list has once they hold, and whether they were new.
func (b *bans) add(id string, now time.Time, nb []Ban) (uint64, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.applied[id]; ok && id != "" {
		return v, false, nil
	}
	old := *b.list.Load()
	horizon := now.UnixNano() - b.maxLife.Load()
	list := make([]Ban, 0, len(old)+len(nb))
	for _, x := range old {
		if x.At >= horizon {
			list = append(list, x)
		}
	}
	for _, x := range nb {
		// Issue times need not arrive in order: keep the list sorted by At, which check
		// relies on to stop at the first ban older than the object.
		i, _ := slices.BinarySearchFunc(list, x.At, func(y Ban, at int64) int { return cmpInt64(y.At, at+1) })
		list = slices.Insert(list, i, x)
	}
	b.pruneApplied(list)
	b.setList(list)
	v := b.version.Add(1)
	if id != "" {
		b.applied[id] = v
	}
	return v, true, b.persist(list, nb)
}

// pruneApplied forgets the IDs of purges none of whose bans is left.
func (b *bans) pruneApplied(list []Ban) {
	if len(b.applied) <= 2*len(list)+64 {
		return
	}
	live := make(map[string]bool, len(list))
	for _, x := range list {
		live[x.ID] = true
	}
	for id := range b.applied {
		if !live[id] {
			delete(b.applied, id)
		}
	}
}

// persist appends the new bans, or rewrites the file when most of its lines have expired.
func (b *bans) persist(list, nb []Ban) error {
	if b.file == nil {
		return nil
	}
	if b.lines > 2*len(list)+1000 {
		return b.rewrite(list)
	}
	var buf bytes.Buffer
	for _, x := range nb {
		writeLine(&buf, bansLine{Ban: x})
	}
	if _, err := b.file.Write(buf.Bytes()); err != nil {
		return err
	}
	b.lines += len(nb)
	return b.file.Sync()
}

func (b *bans) append(l bansLine) error {
	if b.file == nil {
		return nil
	}
	var buf bytes.Buffer
	writeLine(&buf, l)
	if _, err := b.file.Write(buf.Bytes()); err != nil {
		return err
	}
	b.lines++
	return nil
}

func writeLine(buf *bytes.Buffer, l bansLine) {
	data, _ := json.Marshal(l) // plain strings and numbers: cannot fail
	buf.Write(data)
	buf.WriteByte('\n')
}

// rewrite replaces the file with the live bans and the lifetime.
func (b *bans) rewrite(list []Ban) error {
	var buf bytes.Buffer
	writeLine(&buf, bansLine{MaxLife: b.maxLife.Load()})
	for _, x := range list {
		writeLine(&buf, bansLine{Ban: x})
	}
	tmp := b.path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, b.path); err != nil {
		return err
	}
	b.lines = len(list) + 1
	if b.file != nil {
		b.file.Close()
		var err error
		if b.file, err = os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			b.file = nil
			return err
		}
	}
	return nil
}

func (b *bans) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == nil {
		return nil
	}
	err := b.file.Close()
	b.file = nil
	return err
}

// check returns the newest ban that covers m, or nil. Objects found clean remember the version.
func (b *bans) check(domain string, m *Meta) *Ban {
	v := b.version.Load()
	if v == 0 || m.banClean.Load() == v {
		return nil
	}
	list := *b.list.Load()
	for i := len(list) - 1; i >= 0 && list[i].At > m.RequestTime; i-- {
		if list[i].matches(domain, m) {
			return &list[i]
		}
	}
	m.banClean.Store(v)
	return nil
}
