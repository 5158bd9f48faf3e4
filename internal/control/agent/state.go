package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// state is what a node keeps across restarts of what the control plane gave it: the last
// version that built and served here (so a restart while NATS is unreachable serves it, not
// the file's domains), and its place in the purge stream (so a node whose consumer was removed
// while it was away resumes from there).
type state struct {
	Version  uint64 `json:"version"`
	SHA256   string `json:"sha256"`
	PurgeSeq uint64 `json:"purge_seq"`
}

// stateStore reads and writes the state under one directory; the zero value ("" dir) keeps
// nothing.
type stateStore struct{ dir string }

const (
	stateFile   = "state.json"
	domainsFile = "domains.yaml"
)

// load returns the kept state and document; a missing directory is an empty state.
func (s stateStore) load() (state, []byte, error) {
	var st state
	if s.dir == "" {
		return st, nil, nil
	}
	data, err := os.ReadFile(filepath.Join(s.dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil, nil
	}
	if err != nil {
		return st, nil, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return state{}, nil, fmt.Errorf("%s: %w", filepath.Join(s.dir, stateFile), err)
	}
	if st.Version == 0 {
		return st, nil, nil
	}
	doc, err := os.ReadFile(filepath.Join(s.dir, domainsFile))
	if err != nil {
		return state{PurgeSeq: st.PurgeSeq}, nil, err
	}
	return st, doc, nil
}

// saveVersion keeps doc as the last good version, durably (written, synced, renamed), then
// the state that names it: a crash between the two leaves the older state, never a state
// naming a document that is not there.
func (s stateStore) saveVersion(st state, doc []byte) error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(s.dir, domainsFile), doc); err != nil {
		return err
	}
	return s.saveState(st, true)
}

// saveState writes the state; the purge position is a hint (the stream's consumer is the
// authority), so it is not synced every time.
func (s stateStore) saveState(st state, sync bool) error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	data, _ := json.Marshal(st)
	path := filepath.Join(s.dir, stateFile)
	if sync {
		return writeFileSync(path, data)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
