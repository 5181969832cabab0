package registry

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// badSizeImage is an image whose manifest declares one layer's size as
// size.
type badSizeImage struct {
	v1.Image
	size int64
}

func (i badSizeImage) Manifest() (*v1.Manifest, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	m.Layers[0].Size = i.size
	return m, nil
}

// badSizeIndex is an index whose first child is declared of -1 bytes.
type badSizeIndex struct{ index }

// index names v1.ImageIndex for embedding: a field named ImageIndex would
// hide its ImageIndex method.
type index = v1.ImageIndex

func (i badSizeIndex) IndexManifest() (*v1.IndexManifest, error) {
	im, err := i.index.IndexManifest()
	if err != nil {
		return nil, err
	}
	im = im.DeepCopy()
	im.Manifests[0].Size = -1
	return im, nil
}

// TestPushRefusesBadSizes: push refuses an image or index whose manifest
// declares a negative or absurd size, before sending anything.
func TestPushRefusesBadSizes(t *testing.T) {
	t.Parallel()
	img, _ := random.Image(100, 1)
	for _, tc := range []struct {
		name string
		a    Artifact
	}{
		{"layer of -1 bytes", badSizeImage{img, -1}},
		{"layer of 2 TiB", badSizeImage{img, 2 << 40}},
		{"index child of -1 bytes", badSizeIndex{mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			_, err := newShareClient(t).Push(context.Background(), mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "t", Artifact: tc.a}}, PushOptions{})
			if !errors.Is(err, ErrBadSize) {
				t.Fatalf("err = %v, want ErrBadSize", err)
			}
			if got := reg.counts(); got["PUT manifest"] != 0 {
				t.Fatalf("pushed a manifest: %v", got)
			}
		})
	}
}
