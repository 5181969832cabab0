package testenv

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Tagged is one manifest to push with all its tags: an image, or an index
// with one image per platform.
type Tagged struct {
	// Tags all point at the manifest; the first is pushed, the others
	// tagged.
	Tags []string
	// Created is written into every image config.
	Created time.Time
	// Platforms ("os/arch[/variant]"): none for a linux/amd64 image, one
	// or more for an index.
	Platforms []string
}

// PushTagged pushes every manifest to repo (16 at a time), each image a
// random layer of layerSize bytes, and returns each tag's digest.
func (r *Registry) PushTagged(t testing.TB, repo string, items []Tagged, layerSize int64) map[string]string {
	t.Helper()
	var (
		mu      sync.Mutex
		digests = map[string]string{}
		keys    = make([]string, len(items))
		byKey   = map[string]Tagged{}
	)
	for i, it := range items {
		keys[i] = fmt.Sprint(i)
		byKey[keys[i]] = it
	}
	ForEach(t, keys, func(k string) error {
		it := byKey[k]
		w, err := taggedManifest(it, layerSize)
		if err != nil {
			return err
		}
		first := r.ParseRef(t, repo+":"+it.Tags[0]).(name.Tag)
		if err := remote.Push(first, w, r.RemoteOptions()...); err != nil {
			return fmt.Errorf("pushing %s: %w", first, err)
		}
		d, err := w.Digest()
		if err != nil {
			return err
		}
		for _, tag := range it.Tags[1:] {
			if err := remote.Put(r.ParseRef(t, repo+":"+tag), w, r.RemoteOptions()...); err != nil {
				return fmt.Errorf("tagging %s: %w", tag, err)
			}
		}
		mu.Lock()
		for _, tag := range it.Tags {
			digests[tag] = d.String()
		}
		mu.Unlock()
		return nil
	})
	return digests
}

// taggedManifest builds the image or index of it.
func taggedManifest(it Tagged, layerSize int64) (interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}, error) {
	if len(it.Platforms) == 0 {
		return platformImage(it.Created, "linux/amd64", layerSize)
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range it.Platforms {
		img, err := platformImage(it.Created, p, layerSize)
		if err != nil {
			return nil, err
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx, nil
}

// platformImage is a random one-layer image for platform p created at
// created.
func platformImage(created time.Time, p string, layerSize int64) (v1.Image, error) {
	img, err := random.Image(layerSize, 1)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	parts := strings.Split(p, "/")
	cf.OS, cf.Architecture = parts[0], parts[1]
	if len(parts) > 2 {
		cf.Variant = parts[2]
	}
	cf.Created = v1.Time{Time: created}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1), nil
}
