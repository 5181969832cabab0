package tempdir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestClaimReclaimsTheDeadOnly: a claim removes the directory of a dead
// owner (its lock file there, unlocked, as a SIGKILL leaves it),
// and keeps a live owner's directory and what is not its prefix's;
// Release removes its own.
func TestClaimReclaimsTheDeadOnly(t *testing.T) {
	root := t.TempDir()
	live, err := Claim(root, "x-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live.Path, "f"), []byte("live"), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(root, "x-dead")
	for _, p := range []string{dead, filepath.Join(root, "y-other")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "f"), []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+LockSuffix, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	next, err := Claim(root, "x-")
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{dead, dead + LockSuffix} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", gone, err)
		}
	}
	for _, kept := range []string{live.Path, live.Path + LockSuffix, filepath.Join(live.Path, "f"), filepath.Join(root, "y-other"), next.Path} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
	if n := Reclaim(root, "y-"); n != 5 {
		t.Errorf("Reclaim of y-: %d bytes, want the 5 of the dead owner's file", n)
	}
	for _, d := range []*Dir{live, next} {
		if err := d.Release(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{d.Path, d.Path + LockSuffix} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("%s is still there after Release (%v)", p, err)
			}
		}
	}
}
