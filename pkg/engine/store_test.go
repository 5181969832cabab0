package engine

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestEntries: the engine's images become the rows docker images shows:
// a row per tag (with the repo digest of its repository), a "NAME <none>"
// row per repository with a repo digest and no tag (a pull by digest),
// "<none> <none>" for an image with neither; names in canonical form;
// Podman's NAME@DIGEST among the tags is a repo digest.
func TestEntries(t *testing.T) {
	t.Parallel()
	id := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("1", 64)}
	d1, d2 := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	got := Entries([]Image{
		{ID: id, RepoTags: []string{"nginx:1.25", "<none>:<none>"}, RepoDigests: []string{"nginx@" + d1, "example.test/mirror/nginx@" + d2, "example.test/mirror/nginx@" + d1}},
		{ID: id, RepoDigests: []string{"alpine@" + d2}},
		{ID: id, RepoDigests: []string{"not a reference"}},
		// Podman's image pulled by digest: NAME@DIGEST among its tags.
		{ID: id, RepoTags: []string{"example.test/app@" + d1}, RepoDigests: []string{"example.test/app@" + d2}},
	})
	want := []struct{ ref, digest string }{
		{"docker.io/library/nginx:1.25", d1},
		{"example.test/mirror/nginx@" + d2, d2},
		{"docker.io/library/alpine@" + d2, d2},
		{"", ""},
		{"example.test/app@" + d1, d1},
	}
	if len(got) != len(want) {
		t.Fatalf("Entries = %+v, want %d entries", got, len(want))
	}
	for i, w := range want {
		d := ""
		if got[i].Digest != (v1.Hash{}) {
			d = got[i].Digest.String()
		}
		if got[i].Ref != w.ref || d != w.digest || got[i].ID != id {
			t.Errorf("entry %d = %q %q %s, want %q %q", i, got[i].Ref, d, got[i].ID, w.ref, w.digest)
		}
	}
}
