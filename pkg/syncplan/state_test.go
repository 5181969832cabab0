package syncplan

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStateRoundTrip: what is set is found again by a new State on the
// same directory only for the same source digest and platforms; a
// forgotten tag, a corrupt file or one of another repository knows nothing.
func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := &State{Dir: dir}
	s.set("m.local/app", "1.0", stateEntry{Source: "sha256:aa", Destination: "sha256:bb", Platforms: "linux/amd64"})
	s.set("m.local/app", "2.0", stateEntry{Source: "sha256:cc", Destination: "sha256:cc"})
	s.forget("m.local/app", "2.0")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s = &State{Dir: dir}
	if got := s.lookup("m.local/app", "1.0", "sha256:aa", "linux/amd64"); got != "sha256:bb" {
		t.Errorf("lookup after save: %q, want sha256:bb", got)
	}
	for _, c := range [][3]string{{"1.0", "sha256:ff", "linux/amd64"}, {"1.0", "sha256:aa", ""}, {"2.0", "sha256:cc", ""}} {
		if got := s.lookup("m.local/app", c[0], c[1], c[2]); got != "" {
			t.Errorf("lookup %v: %q, want nothing", c, got)
		}
	}
	if got := s.lookup("m.local/other", "1.0", "sha256:aa", "linux/amd64"); got != "" {
		t.Errorf("another repository: %q", got)
	}

	// A file naming another repository (a hash collision, a copied
	// file) or not parsing is an empty state.
	other := &State{Dir: dir}
	if err := os.Rename(other.file("m.local/app"), other.file("m.local/other")); err != nil {
		t.Fatal(err)
	}
	if got := other.lookup("m.local/other", "1.0", "sha256:aa", "linux/amd64"); got != "" {
		t.Errorf("file of another repository trusted: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(other.file("m.local/x"))), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := (&State{Dir: dir}).lookup("m.local/x", "1.0", "sha256:aa", ""); got != "" {
		t.Errorf("corrupt file trusted: %q", got)
	}
	var none *State
	if got := none.lookup("m.local/app", "1.0", "sha256:aa", "linux/amd64"); got != "" || none.Save() != nil {
		t.Errorf("a nil State knows %q", got)
	}
}
