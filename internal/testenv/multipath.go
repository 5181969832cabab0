package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Multipath is an index tree pushed by PushRepeatedIndex or
// PushDiamondIndex: few manifests, but a number of paths from the top to
// the image that grows as a power of the depth. A client that walks every
// path (or sums a child's size per listing) never ends or reports
// terabytes; content-addressed, each manifest is one.
type Multipath struct {
	// Top is the index the tag names.
	Top v1.Hash
	// Image is the one image at the bottom (linux/amd64, one layer).
	Image v1.Image
	// Indexes are all the indexes, the top one last.
	Indexes []v1.Hash
}

// PushRepeatedIndex pushes to ref (a tag) an image and depth indexes over
// it, each listing the one below times times (the lowest lists the image
// times times): times^depth paths through depth+1 manifests. Depth 3 and
// 1,000 times is 10^9 paths, each index about 160 kB.
func PushRepeatedIndex(tb testing.TB, ref name.Reference, depth, times int, opts ...remote.Option) Multipath {
	tb.Helper()
	img, child := multipathImage(tb, ref, opts)
	mp := Multipath{Image: img}
	for level := range depth {
		child = pushIndex(tb, ref, level == depth-1, repeat(child, times), nil, opts)
		mp.Indexes = append(mp.Indexes, child.Digest)
	}
	mp.Top = child.Digest
	return mp
}

// PushDiamondIndex pushes to ref (a tag) an image and depth levels of
// indexes, two on each level (told apart by an annotation) but the top
// one, each listing the two of the level below (the lowest, the image
// once): 2^(depth-1) paths through 2·depth manifests. Depth 30 is over
// 5·10^8 paths through 60 manifests, which no dedupe within one index
// bounds.
func PushDiamondIndex(tb testing.TB, ref name.Reference, depth int, opts ...remote.Option) Multipath {
	tb.Helper()
	img, child := multipathImage(tb, ref, opts)
	mp := Multipath{Image: img}
	below := []v1.Descriptor{child}
	for level := range depth {
		var pair []v1.Descriptor
		for _, side := range []string{"a", "b"} {
			top := level == depth-1
			if top && side == "b" {
				break // the top is one index
			}
			d := pushIndex(tb, ref, top, below, map[string]string{"dev.ctl.test.node": fmt.Sprintf("%d%s", level, side)}, opts)
			mp.Indexes = append(mp.Indexes, d.Digest)
			pair = append(pair, d)
		}
		below = pair
	}
	mp.Top = below[0].Digest
	return mp
}

// multipathImage pushes a small linux/amd64 image to ref's repository and
// returns it with its descriptor as an index lists it.
func multipathImage(tb testing.TB, ref name.Reference, opts []remote.Option) (v1.Image, v1.Descriptor) {
	tb.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		tb.Fatalf("testenv: random image: %v", err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref.Context().Digest(d.String()), img, opts...); err != nil {
		tb.Fatalf("testenv: pushing %s: %v", d, err)
	}
	mt, _ := img.MediaType()
	size, _ := img.Size()
	return img, v1.Descriptor{MediaType: mt, Digest: d, Size: size, Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
}

func repeat(d v1.Descriptor, n int) []v1.Descriptor {
	out := make([]v1.Descriptor, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// pushIndex pushes an OCI index of children (which are in ref's
// repository) by digest, or as ref when tag, and returns its descriptor.
func pushIndex(tb testing.TB, ref name.Reference, tag bool, children []v1.Descriptor, annotations map[string]string, opts []remote.Option) v1.Descriptor {
	tb.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: children, Annotations: annotations})
	if err != nil {
		tb.Fatal(err)
	}
	m := rawManifest{raw: raw, mediaType: types.OCIImageIndex}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	to := ref
	if !tag {
		to = ref.Context().Digest(d.String())
	}
	if err := remote.Put(to, m, opts...); err != nil {
		tb.Fatalf("testenv: pushing index %s: %v", d, err)
	}
	return v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw))}
}

// rawManifest is manifest bytes to push as they are.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
