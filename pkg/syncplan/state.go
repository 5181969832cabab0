package syncplan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/bounded"
)

// State remembers, per destination repository, which tags were last seen
// (or made) in step with their source: the source digest, the digest the
// destination's tag had then and the platforms of the entry. A re-sync
// trusts an entry only while the source still answers the same digest,
// the entry asks for the same platforms and the destination's tag list
// still has the tag; then it needs no HEAD on the destination. Anything
// else is asked of the destination as without a state, so a lost, stale
// or foreign state file costs requests, never a wrong copy.
//
// Each repository is one JSON file in Dir, named by a hash of its
// reference, written whole through a rename: concurrent syncs may lose
// each other's entries (more HEADs next time), not corrupt them.
type State struct {
	Dir string

	mu    sync.Mutex
	repos map[string]*repoState
}

// stateEntry is one tag of a repoState.
type stateEntry struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Platforms   string `json:"platforms,omitempty"`
}

// repoState is the file of one destination repository.
type repoState struct {
	Repository string                `json:"repository"`
	Tags       map[string]stateEntry `json:"tags"`
	dirty      bool
}

// file is the path of repo's file.
func (s *State) file(repo string) string {
	sum := sha256.Sum256([]byte(repo))
	return filepath.Join(s.Dir, hex.EncodeToString(sum[:16])+".json")
}

// maxStateFile bounds a repository's state file: a few hundred bytes per
// tag, for a hundred thousand tags.
const maxStateFile = 64 << 20

// load returns repo's state, read from its file the first time (a missing
// or unreadable file is an empty state). Callers hold mu.
func (s *State) load(repo string) *repoState {
	if rs, ok := s.repos[repo]; ok {
		return rs
	}
	if s.repos == nil {
		s.repos = map[string]*repoState{}
	}
	rs := &repoState{}
	if b, err := bounded.ReadFile(s.file(repo), maxStateFile); err != nil || json.Unmarshal(b, rs) != nil || rs.Repository != repo {
		rs = &repoState{}
	}
	rs.Repository = repo
	if rs.Tags == nil {
		rs.Tags = map[string]stateEntry{}
	}
	s.repos[repo] = rs
	return rs
}

// lookup is the digest repo's tag had when last seen in step with source
// under platforms, "" when the state does not know it in step.
func (s *State) lookup(repo, tag, source, platforms string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.load(repo).Tags[tag]
	if !ok || e.Source != source || e.Platforms != platforms {
		return ""
	}
	return e.Destination
}

// set records repo's tag in step as e says.
func (s *State) set(repo, tag string, e stateEntry) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.load(repo)
	if rs.Tags[tag] != e {
		rs.Tags[tag], rs.dirty = e, true
	}
}

// forget drops what is recorded of repo's tag.
func (s *State) forget(repo, tag string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.load(repo)
	if _, ok := rs.Tags[tag]; ok {
		delete(rs.Tags, tag)
		rs.dirty = true
	}
}

// Save writes the repositories whose state changed.
func (s *State) Save() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for repo, rs := range s.repos {
		if !rs.dirty {
			continue
		}
		if err := s.write(repo, rs); err != nil {
			errs = append(errs, fmt.Errorf("sync state of %s: %w", repo, err))
			continue
		}
		rs.dirty = false
	}
	return errors.Join(errs...)
}

func (s *State) write(repo string, rs *repoState) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.file(repo), b)
}
