package bench

import (
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkPullAllPlatforms: `ctl pull --platform all` of a 4-platform
// index (4 images × 3 layers × 8 MiB) into an empty store against `crane
// pull --format oci` of the same into an empty layout (crane keeps every
// platform by default), through the proxy's 20 ms per request. ctl writes
// the four images at once, their layers sharing one bound. Target:
// ctl/crane <= 1.0. The same index is pulled by every run (its blobs
// are not fresh: a pull does not depend on the registry having seen them).
func BenchmarkPullAllPlatforms(b *testing.B) {
	tg := newTarget(b, latency, func(reg *testenv.Registry) {
		idx := v1.ImageIndex(empty.Index)
		for _, arch := range []string{"amd64", "arm64", "s390x", "ppc64le"} {
			img, err := random.Image(8<<20, 3)
			if err != nil {
				b.Fatal(err)
			}
			cf, _ := img.ConfigFile()
			cf = cf.DeepCopy()
			cf.OS, cf.Architecture = "linux", arch
			if img, err = mutate.ConfigFile(img, cf); err != nil {
				b.Fatal(err)
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		}
		if err := remote.WriteIndex(reg.ParseRef(b, "seed/multi:v1"), idx, reg.RemoteOptions()...); err != nil {
			b.Fatal(err)
		}
	})
	src := tg.Proxy.Host + "/seed/multi:v1"
	benchPull(b, tg, 0, func(*testing.B, string, int) string { return src }, "--platform", "all")
}
