package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// localImages opens the local store for push and pull.
func (f *Factory) localImages() (localImages, error) {
	s, err := f.Store()
	if err != nil {
		return nil, err
	}
	return storeImages{s}, nil
}

// storeImages adapts the store to what push and pull need of it.
type storeImages struct{ s *store.Store }

func (l storeImages) HasBlob(h v1.Hash) bool { return l.s.HasBlob(h) }

func (l storeImages) Resolve(ref reference.Reference) (v1.Hash, bool) {
	e, err := l.s.Lookup(ref)
	if err != nil {
		return v1.Hash{}, false
	}
	return e.Digest, true
}

func (l storeImages) WriteImage(ctx context.Context, img v1.Image, ref reference.Reference) error {
	_, err := l.s.WriteImage(ctx, img, ref)
	return err
}

func (l storeImages) PushTargets(ref reference.Reference, all bool) ([]registry.PushTag, error) {
	var entries []store.Entry
	if all {
		es, err := l.s.Tags(ref)
		if err != nil {
			return nil, err
		}
		entries = es
	} else {
		if ref.Tag() == "" && ref.Digest() == "" {
			r, err := ref.WithTag(ref.DefaultedTag())
			if err != nil {
				return nil, err
			}
			ref = r
		}
		e, err := l.s.Lookup(ref)
		if err != nil {
			return nil, err
		}
		if ref.Tag() == "" {
			e.Ref = ref.Name() + ":" + ref.Digest() // pushed by digest
		}
		entries = []store.Entry{e}
	}
	tags := make([]registry.PushTag, 0, len(entries))
	for _, e := range entries {
		tag := e.Ref[strings.LastIndexByte(e.Ref, ':')+1:]
		var a registry.Artifact
		var err error
		if e.IsIndex() {
			a, err = l.s.Index(e.Digest)
		} else {
			a, err = l.s.Image(e.Digest)
		}
		if err != nil {
			return nil, err
		}
		tags = append(tags, registry.PushTag{Tag: tag, Artifact: a})
	}
	return tags, nil
}

// maxMountScan bounds how many other local images push reads the manifest
// of to find mount sources (each is one small file).
const maxMountScan = 64

func (l storeImages) MountSources(ref reference.Reference) map[v1.Hash][]string {
	all, err := l.s.List()
	if err != nil {
		return nil
	}
	out := map[v1.Hash][]string{}
	scanned := 0
	for _, e := range all {
		r, ok := e.Reference()
		if !ok || e.IsIndex() || !strings.EqualFold(r.Registry(), ref.Registry()) || r.Repository() == ref.Repository() {
			continue
		}
		if scanned++; scanned > maxMountScan {
			break
		}
		img, err := l.s.Image(e.Digest)
		if err != nil {
			continue
		}
		m, err := img.Manifest()
		if err != nil {
			continue
		}
		for _, d := range m.Layers {
			out[d.Digest] = append(out[d.Digest], r.Repository())
		}
	}
	return out
}

var _ = errors.New
