package store

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// lookupEntry returns the entry of the reference r.
func lookupEntry(t *testing.T, s *Store, r string) Entry {
	t.Helper()
	e, err := s.Lookup(ref(t, r))
	if err != nil {
		t.Fatalf("Lookup(%s): %v", r, err)
	}
	return e
}

// TestRepoDigest: a platform image pulled out of an index remembers the
// index digest under the pulled reference only, answers to repo@index,
// and forgets it when told the reference now has the manifest's digest.
func TestRepoDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	img := randomImage(t, 512, 1)
	dig := digestOf(t, img)
	idx, other := hashOf('a'), hashOf('b')

	e, err := s.WritePulled(ctx, img, ref(t, "reg.local/app:v1"), idx)
	if err != nil {
		t.Fatal(err)
	}
	if e.Digest != dig || e.RepoDigest != idx || e.RegistryDigest() != idx {
		t.Fatalf("WritePulled entry %+v, want digest %s repo digest %s", e, dig, idx)
	}
	if got := lookupEntry(t, s, "reg.local/app:v1"); got.RepoDigest != idx || got.Digest != dig {
		t.Errorf("listed entry %+v", got)
	}
	// repo@index names it; another repository's @index does not.
	if got, err := s.Resolve("reg.local/app@" + idx.String()); err != nil || got.Digest != dig {
		t.Errorf("Resolve(app@index) = %+v, %v", got, err)
	}
	if _, err := s.Resolve("reg.local/other@" + idx.String()); err == nil {
		t.Errorf("Resolve(other@index) found an image")
	}
	info, err := s.Inspect(lookupEntry(t, s, "reg.local/app:v1"), nil)
	if err != nil || len(info.RepoDigests) != 1 || info.RepoDigests[0] != "reg.local/app@"+idx.String() {
		t.Errorf("Inspect RepoDigests = %v, %v", info.RepoDigests, err)
	}

	// A new reference, in this repository or another, was never pulled.
	src := lookupEntry(t, s, "reg.local/app:v1")
	if err := s.Tag(src, ref(t, "reg.local/app:v2"), ref(t, "reg.local/copy:v1"), ref(t, "reg.local/app:v1")); err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string]v1.Hash{"reg.local/app:v1": idx, "reg.local/app:v2": {}, "reg.local/copy:v1": {}} {
		if got := lookupEntry(t, s, r).RepoDigest; got != want {
			t.Errorf("%s: RepoDigest %v after tag, want %v", r, got, want)
		}
	}

	// Re-pulled up to date at a new index; a reference naming another
	// image is left alone.
	if err := s.SetRepoDigest(ref(t, "reg.local/app:v1"), dig, other); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRepoDigest(ref(t, "reg.local/app:v2"), hashOf('c'), other); err != nil {
		t.Fatal(err)
	}
	if got := lookupEntry(t, s, "reg.local/app:v1").RepoDigest; got != other {
		t.Errorf("RepoDigest %v after re-pull, want %v", got, other)
	}
	if got := lookupEntry(t, s, "reg.local/app:v2").RepoDigest; got != (v1.Hash{}) {
		t.Errorf("RepoDigest of a reference to another image set to %v", got)
	}
	// Pushed: the reference has the manifest's own digest now.
	if err := s.SetRepoDigest(ref(t, "reg.local/app:v1"), dig, dig); err != nil {
		t.Fatal(err)
	}
	if got := lookupEntry(t, s, "reg.local/app:v1"); got.RepoDigest != (v1.Hash{}) || got.RegistryDigest() != dig {
		t.Errorf("entry after push %+v, want no RepoDigest", got)
	}

	// Pulled by the index digest: stored under name@index, found by it,
	// removed by it; a plain image pull remembers nothing.
	byDigest := "reg.local/app@" + idx.String()
	if _, err := s.WritePulled(ctx, img, ref(t, byDigest), idx); err != nil {
		t.Fatal(err)
	}
	if got := lookupEntry(t, s, byDigest); got.Ref != byDigest || got.Digest != dig || got.RepoDigest != idx {
		t.Errorf("by digest: %+v", got)
	}
	if _, err := s.WritePulled(ctx, img, ref(t, "reg.local/plain:v1"), dig); err != nil {
		t.Fatal(err)
	}
	if got := lookupEntry(t, s, "reg.local/plain:v1").RepoDigest; got != (v1.Hash{}) {
		t.Errorf("plain pull remembered %v", got)
	}
	res, err := s.Remove(byDigest, false)
	if err != nil || len(res.Untagged) != 1 || res.Untagged[0] != byDigest {
		t.Errorf("Remove(%s) = %+v, %v", byDigest, res, err)
	}

	// Moved to another image, the old one is untagged and keeps no
	// RepoDigest.
	old := randomImage(t, 256, 1)
	if _, err := s.WritePulled(ctx, old, ref(t, "reg.local/moved:v1"), idx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteImage(ctx, randomImage(t, 256, 1), ref(t, "reg.local/moved:v1")); err != nil {
		t.Fatal(err)
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	dangling := 0
	for _, e := range all {
		if e.Ref == "" && e.Digest == digestOf(t, old) {
			dangling++
			if e.RepoDigest != (v1.Hash{}) {
				t.Errorf("untagged entry kept RepoDigest %v", e.RepoDigest)
			}
		}
	}
	if dangling != 1 {
		t.Errorf("%d untagged entries of the moved image, want 1", dangling)
	}
}

// TestRemote: a reference is Remote once pulled (written, or found up to
// date) or pushed, and a reference made in the store (written, tagged) is
// not.
func TestRemote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	img := randomImage(t, 512, 1)
	dig := digestOf(t, img)
	remote := func(r string) bool { t.Helper(); return lookupEntry(t, s, r).Remote }

	if _, err := s.WriteImage(ctx, img, ref(t, "app:local")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WritePulled(ctx, img, ref(t, "app:pulled"), dig); err != nil {
		t.Fatal(err)
	}
	if remote("app:local") || !remote("app:pulled") {
		t.Fatalf("written: Remote %v, pulled: Remote %v; want false, true", remote("app:local"), remote("app:pulled"))
	}
	if err := s.Tag(lookupEntry(t, s, "app:pulled"), ref(t, "app:tagged")); err != nil {
		t.Fatal(err)
	}
	if remote("app:tagged") || !remote("app:pulled") {
		t.Errorf("a tag of a pulled image is Remote %v (want false); the pulled one %v", remote("app:tagged"), remote("app:pulled"))
	}
	// Pushed (or re-pulled up to date) at the manifest's own digest.
	if err := s.SetRepoDigest(ref(t, "app:local"), dig, dig); err != nil {
		t.Fatal(err)
	}
	if !remote("app:local") || lookupEntry(t, s, "app:local").RepoDigest != (v1.Hash{}) {
		t.Errorf("after a push: %+v, want Remote and no RepoDigest", lookupEntry(t, s, "app:local"))
	}
	// Moved to an image written in the store: local again.
	if _, err := s.WriteImage(ctx, randomImage(t, 256, 1), ref(t, "app:pulled")); err != nil {
		t.Fatal(err)
	}
	if remote("app:pulled") {
		t.Errorf("a reference written over is still Remote")
	}
}
