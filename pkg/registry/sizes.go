package registry

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxBlobSize is the largest layer a descriptor may declare: more is absurd
// (the store refuses archive members over 1 TiB likewise).
const maxBlobSize = 1 << 40

// ErrBadSize is wrapped by the error for a manifest or index that declares
// a negative or absurd size: pulled, a layer of size -1 was stored as it
// came, shown with a wrong size and pushed on.
var ErrBadSize = errors.New("negative or absurd size")

// checkManifestSizes refuses a manifest whose config or a layer declares a
// size below 0 or above its cap; what names the manifest in the message.
func checkManifestSizes(what string, m *v1.Manifest) error {
	if err := checkSize(what, "config", m.Config, maxConfigBytes); err != nil {
		return err
	}
	for _, l := range m.Layers {
		if err := checkSize(what, "layer", l, maxBlobSize); err != nil {
			return err
		}
	}
	return nil
}

// checkIndexSizes is checkManifestSizes for the children of an index.
func checkIndexSizes(what string, im *v1.IndexManifest) error {
	for _, c := range im.Manifests {
		if err := checkSize(what, "child manifest", c, maxManifestBytes); err != nil {
			return err
		}
	}
	return nil
}

func checkSize(what, kind string, d v1.Descriptor, max int64) error {
	if d.Size < 0 || d.Size > max {
		return fmt.Errorf("%s: %s %s declares %d bytes: %w (the limit is %d)", what, kind, d.Digest, d.Size, ErrBadSize, max)
	}
	return nil
}
