package platform

import (
	"errors"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	// Each case is one of containerd's normalizeArch/normalizeOS rules
	// (github.com/containerd/platforms, database.go).
	for _, tc := range []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"Linux/arm64", "linux/arm64"},                           // OS lowercased
		{"LINUX/ARM64/V8", "linux/arm64"},                        // everything lowercased, then arm64/v8 is arm64
		{"macos/arm64", "darwin/arm64"},                          // macos is darwin
		{"linux/aarch64", "linux/arm64"},                         // aarch64 is arm64
		{"linux/aarch64/v8", "linux/arm64"},                      // ... and its v8 is none
		{"linux/arm64/8", "linux/arm64"},                         // "8", "v8", "v8.0": none
		{"linux/arm64/v8.0", "linux/arm64"},                      //
		{"linux/arm64/v8.2", "linux/arm64/v8.2"},                 // other v8.x kept
		{"linux/arm64/9", "linux/arm64/v9"},                      // "9", "9.0", "v9.0": v9
		{"linux/arm64/v9.0", "linux/arm64/v9"},                   //
		{"linux/x86_64", "linux/amd64"},                          // x86_64 and x86-64 are amd64
		{"linux/x86-64", "linux/amd64"},                          //
		{"linux/amd64/v1", "linux/amd64"},                        // amd64/v1 is amd64
		{"linux/amd64/v3", "linux/amd64/v3"},                     //
		{"linux/i386", "linux/386"},                              // i386 is 386, variant dropped
		{"linux/armhf", "linux/arm/v7"},                          // armhf is arm/v7
		{"linux/armel", "linux/arm/v6"},                          // armel is arm/v6
		{"linux/arm", "linux/arm/v7"},                            // arm without variant is v7
		{"linux/arm/7", "linux/arm/v7"},                          // bare numbers get their v
		{"linux/arm/6", "linux/arm/v6"},                          //
		{"linux/arm/5", "linux/arm/v5"},                          //
		{"linux/arm/8", "linux/arm/v8"},                          //
		{"linux/arm/V6", "linux/arm/v6"},                         //
		{"windows/AMD64:10.0.20348", "windows/amd64:10.0.20348"}, // OS version kept
		{"linux/riscv64", "linux/riscv64"},                       // the rest as they are
	} {
		p, err := Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		n := Normalize(p)
		if got := String(&n); got != tc.want {
			t.Errorf("Normalize(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestVariants(t *testing.T) {
	t.Parallel()
	// containerd's platforms.Only (compare.go, platformVector), within the
	// architecture asked for.
	for _, tc := range []struct {
		in   string
		want []string // variants accepted, best first ("" is none)
	}{
		{"linux/arm", []string{"v7", "v6", "v5"}},    // arm is arm/v7
		{"linux/arm/v7", []string{"v7", "v6", "v5"}}, // "For arm/v7, will also match arm/v6 and arm/v5"
		{"linux/arm/v8", []string{"v8", "v7", "v6", "v5"}},
		{"linux/arm/v6", []string{"v6", "v5"}}, // "For arm/v6, will also match arm/v5"
		{"linux/arm/v5", []string{"v5"}},
		{"linux/arm64", []string{""}}, // arm64 (v8) takes no other arm64
		{"linux/arm64/v8", []string{""}},
		{"linux/arm64/v8.2", []string{"v8.2", "v8.1", ""}},                             // "For arm64/v8.x, will also match arm64/v8.{0..x-1}"
		{"linux/arm64/v9", []string{"v9", "v8.5", "v8.4", "v8.3", "v8.2", "v8.1", ""}}, // v9.0 takes v8.0-v8.5
		{"linux/arm64/v9.5", []string{"v9.5", "v9.4", "v9.3", "v9.2", "v9.1", "v9", "v8.9", "v8.8", "v8.7", "v8.6", "v8.5", "v8.4", "v8.3", "v8.2", "v8.1", ""}},
		{"linux/arm64/v9.9", []string{"v9.9"}}, // beyond containerd's table: itself only
		{"linux/amd64", []string{""}},
		{"linux/amd64/v3", []string{"v3", "v2", ""}}, // amd64/vN takes vN-1 ... v1
		{"linux/amd64/v2", []string{"v2", ""}},
		{"linux/riscv64", []string{""}},
		{"linux/ppc64le/power9", []string{"power9"}},
	} {
		p, err := Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := variants(Normalize(p)); !slices.Equal(got, tc.want) {
			t.Errorf("variants(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// armIndex lists arm/v6 before arm/v7 and arm64 without a variant, as
// many indexes do, and an artifact with a platform.
func armIndex() *v1.IndexManifest {
	d := func(hex string, p string) v1.Descriptor {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			panic(err)
		}
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: hex}, Platform: pl}
	}
	art := d("art", "linux/amd64")
	art.ArtifactType = "application/vnd.example.sbom"
	return &v1.IndexManifest{Manifests: []v1.Descriptor{
		art,
		d("v6", "linux/arm/v6"),
		d("v7", "linux/arm/v7"),
		d("arm64", "linux/arm64"),
		d("amd64v2", "linux/amd64/v2"),
		d("win1", "windows/amd64:10.0.17763.1"),
		d("win2", "windows/amd64:10.0.20348.1"),
	}}
}

func TestPickPrefers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		want string
		got  string // hex of the entry picked; "" for none
	}{
		{"linux/arm64/v8", "arm64"},   // containerd: arm64/v8 and arm64 are one platform
		{"linux/arm64", "arm64"},      //
		{"linux/aarch64", "arm64"},    // normalised
		{"linux/ARM64", "arm64"},      //
		{"Linux/arm64", "arm64"},      //
		{"linux/arm64/8", "arm64"},    //
		{"linux/arm", "v7"},           // arm is arm/v7, ahead of the v6 listed first
		{"linux/arm/v7", "v7"},        // the best match wins, not the first
		{"linux/armhf", "v7"},         //
		{"linux/arm/v8", "v7"},        // arm/v8 takes v7 first
		{"linux/arm/v6", "v6"},        //
		{"linux/armel", "v6"},         //
		{"linux/arm/v5", ""},          // v5 takes nothing newer
		{"linux/amd64", ""},           // amd64 (v1) does not take v2, nor the artifact
		{"linux/amd64/v3", "amd64v2"}, // v3 takes v2
		{"linux/x86_64/v2", "amd64v2"},
		{"linux/386", ""},
		{"windows/amd64", "win1"},              // OS version not given: not compared, first wins
		{"windows/amd64:10.0.20348.1", "win2"}, // given: compared
		{"windows/amd64:10.0.20348.2", ""},     //
		{"linux/arm64/v9", "arm64"},            // v9 takes v8.5 ... v8
		{"linux/arm64/v8.1", "arm64"},          // v8.1 takes v8
	} {
		p, err := Parse(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Pick(armIndex(), p)
		if got := d.Digest.Hex; got != tc.got || (err != nil) != (tc.got == "") {
			t.Errorf("Pick(%s) = %q, %v; want %q", tc.want, got, err, tc.got)
		}
	}
}

func TestFilterPrefers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sel  string
		want []string // hex of the entries kept, in index order
		same []string // FilterSame's; nil: not found
	}{
		{"all", []string{"v6", "v7", "arm64", "amd64v2", "win1", "win2"}, []string{"v6", "v7", "arm64", "amd64v2", "win1", "win2"}},
		{"linux/arm", []string{"v7"}, []string{"v7"}},                                     // the best entry only, not v6 too
		{"linux/arm/v8", []string{"v7"}, nil},                                             // v7 stands in for v8; for remove it is not v8
		{"linux/arm/v6,linux/arm64/v8", []string{"v6", "arm64"}, []string{"v6", "arm64"}}, // arm64/v8 is the arm64 entry
		{"linux/arm,linux/arm/v6", []string{"v6", "v7"}, []string{"v6", "v7"}},
		{"windows/amd64", []string{"win1", "win2"}, []string{"win1", "win2"}}, // every OS version, as they tie
		{"linux/amd64/v3", []string{"amd64v2"}, nil},
	} {
		sel, err := ParseSelection(tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		hexes := func(ds []v1.Descriptor) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.Digest.Hex)
			}
			return out
		}
		got, err := Filter(armIndex(), sel)
		if err != nil || !slices.Equal(hexes(got), tc.want) {
			t.Errorf("Filter(%s) = %v, %v; want %v", tc.sel, hexes(got), err, tc.want)
		}
		same, err := FilterSame(armIndex(), sel)
		if tc.same == nil {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("FilterSame(%s) = %v, %v; want not found", tc.sel, hexes(same), err)
			}
		} else if err != nil || !slices.Equal(hexes(same), tc.same) {
			t.Errorf("FilterSame(%s) = %v, %v; want %v", tc.sel, hexes(same), err, tc.same)
		}
	}
}

func TestMissingAndBest(t *testing.T) {
	t.Parallel()
	sel, _ := ParseSelection("linux/arm64/v8,linux/arm")
	for _, tc := range []struct {
		p    *v1.Platform
		want []string
	}{
		{&v1.Platform{OS: "linux", Architecture: "arm64"}, []string{"linux/arm"}},
		{&v1.Platform{OS: "linux", Architecture: "aarch64"}, []string{"linux/arm"}},
		{&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, []string{"linux/arm64/v8"}}, // arm (v7) takes v6
		{&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v8"}, []string{"linux/arm64/v8", "linux/arm"}},
		{&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v9"}, []string{"linux/arm64/v8", "linux/arm"}}, // a v8 machine can't run v9
		{nil, []string{"linux/arm64/v8", "linux/arm"}},
	} {
		if got := sel.Missing(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("Missing(%s) = %v, want %v", String(tc.p), got, tc.want)
		}
	}
	same, _ := ParseSelection("linux/arm64,linux/aarch64")
	if got := same.Missing(&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}); got != nil {
		t.Errorf("two names of its own platform: missing %v", got)
	}
	if got := All().Missing(nil); got != nil {
		t.Errorf("All misses %v", got)
	}
	v6, v7 := &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	if got := Best(v1.Platform{OS: "linux", Architecture: "arm"}, nil, v6, v7); got != 2 {
		t.Errorf("Best(linux/arm) = %d, want 2 (v7)", got)
	}
	if got := Best(v1.Platform{OS: "linux", Architecture: "amd64"}, v6, v7); got != -1 {
		t.Errorf("Best(linux/amd64) = %d, want -1", got)
	}
}

// TestDefaultPicks: the default platform of each machine picks its entry
// of an index that spells it as buildx does or not (arm64 without v8).
func TestDefaultPicks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ goos, goarch, want string }{
		{"linux", "arm64", "arm64"},
		{"darwin", "arm64", "arm64"}, // an arm Mac: linux/arm64/v8
		{"linux", "arm", "v7"},
		{"windows", "amd64", ""}, // linux/amd64: the index has only amd64/v2
	} {
		p := defaultOf(tc.goos, tc.goarch)
		d, err := Pick(armIndex(), p)
		if d.Digest.Hex != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("%s/%s: Pick(%s) = %q, %v; want %q", tc.goos, tc.goarch, String(&p), d.Digest.Hex, err, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    *v1.Platform
		want string
	}{
		{nil, "unknown/unknown"}, // as docker shows buildkit's attestations
		{&v1.Platform{}, "unknown/unknown"},
		{&v1.Platform{OS: "unknown", Architecture: "unknown"}, "unknown/unknown"},
		{&v1.Platform{Architecture: "arm64"}, "unknown/arm64"},
		{&v1.Platform{OS: "linux"}, "linux/unknown"},
		{&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64/v8"}, // as written, not normalised
		{&v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348"}, "windows/amd64:10.0.20348"},
	} {
		if got := String(tc.p); got != tc.want {
			t.Errorf("String(%#v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestIsImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    v1.Descriptor
		want bool
	}{
		{v1.Descriptor{MediaType: types.OCIManifestSchema1}, true},
		{v1.Descriptor{MediaType: types.DockerManifestSchema2}, true},
		{v1.Descriptor{MediaType: types.OCIImageIndex}, true},
		{v1.Descriptor{}, true},
		{v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: string(types.OCIConfigJSON)}, true}, // the referrers API's artifactType of an image
		{v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: "application/vnd.in-toto+json"}, false},
		{v1.Descriptor{MediaType: types.OCIManifestSchema1, Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}, false},
		{v1.Descriptor{MediaType: "application/vnd.example.sig"}, false},
	} {
		if got := IsImage(tc.d); got != tc.want {
			t.Errorf("IsImage(%s %q) = %v", tc.d.MediaType, tc.d.ArtifactType, got)
		}
	}
}
