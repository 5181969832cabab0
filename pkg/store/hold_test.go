package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestHoldMakesNoLockFile: Hold, what readers take, creates nothing in
// the store and still keeps Prune waiting until released.
func TestHoldMakesNoLockFile(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	if _, err := s.WriteImage(context.Background(), randomImage(t, 100, 1)); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{indexLock, gcLock} {
		os.Remove(s.path(l))
	}
	names := func() []string {
		ents, _ := os.ReadDir(s.Dir())
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	before := names()
	release, err := s.Hold()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, before) {
		t.Fatalf("Hold made %v, was %v", got, before)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Prune(); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("Prune ran while the store was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestOpenToRead: a store not made yet reads as empty and is not made.
func TestOpenToRead(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "none")
	s, err := OpenToRead(dir)
	if err != nil {
		t.Fatal(err)
	}
	if all, err := s.List(); err != nil || len(all) != 0 {
		t.Fatalf("List = %v, %v", all, err)
	}
	if _, err := s.Resolve("app:v1"); err == nil {
		t.Fatal("Resolve found an image in no store")
	}
	release, err := s.Hold()
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the store was made: %v", err)
	}
}
