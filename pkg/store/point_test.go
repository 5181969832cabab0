package store

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Pointing many references at once is pointing them in turn: the last
// image naming a reference keeps it, and an image left with no reference
// stays, untagged.
func TestPointInOnePass(t *testing.T) {
	t.Parallel()
	h := func(c byte) v1.Hash {
		b := make([]byte, 64)
		for i := range b {
			b[i] = c
		}
		return v1.Hash{Algorithm: "sha256", Hex: string(b)}
	}
	a, b, c := Entry{Digest: h('a')}, Entry{Digest: h('b')}, Entry{Digest: h('c')}
	im := &v1.IndexManifest{}
	point(im, pending{e: a, msize: 1, refs: []string{"x:1", "x:2"}}, pending{e: c, msize: 3, refs: []string{"x:3"}})
	point(im,
		pending{e: b, msize: 2, refs: []string{"x:1", "x:4"}},
		pending{e: c, msize: 3, refs: []string{"x:4", "x:2"}},
		pending{e: b, msize: 2})
	normalize(im)
	got := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		got[d.Annotations[AnnotationRef]+"@"+d.Digest.String()] = d.Digest
	}
	want := []string{"@" + a.Digest.String(), "x:1@" + b.Digest.String(), "x:2@" + c.Digest.String(), "x:3@" + c.Digest.String(), "x:4@" + c.Digest.String()}
	if len(got) != len(want) || len(im.Manifests) != len(want) {
		t.Fatalf("index %v, want %v", got, want)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("index %v lacks %s", got, k)
		}
	}
}
