package platform

import (
	"errors"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestParseSelection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // String() of the result; "" with bad set: an error
		bad  bool
	}{
		{in: "", want: ""},
		{in: "all", want: "all"},
		{in: "linux/amd64", want: "linux/amd64"},
		{in: "linux/amd64, linux/arm64/v8", want: "linux/amd64,linux/arm64/v8"},
		{in: "windows/amd64:10.0.20348", want: "windows/amd64:10.0.20348"},
		{in: "linux", bad: true},
		{in: "linux/", bad: true},
		{in: "linux/arm/v7/x", bad: true},
		{in: "linux/amd64,", bad: true},
		{in: "a/b:c:d", bad: true},
	} {
		sel, err := ParseSelection(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseSelection(%q) = %v, %v; want ErrInvalid", tc.in, sel, err)
			}
			continue
		}
		if err != nil || sel.String() != tc.want {
			t.Errorf("ParseSelection(%q) = %q, %v; want %q", tc.in, sel.String(), err, tc.want)
		}
	}
}

func testIndex() *v1.IndexManifest {
	d := func(hex byte, mt types.MediaType, p *v1.Platform) v1.Descriptor {
		h := v1.Hash{Algorithm: "sha256", Hex: string(rune('a' + hex))}
		return v1.Descriptor{MediaType: mt, Digest: h, Platform: p}
	}
	return &v1.IndexManifest{Manifests: []v1.Descriptor{
		d(0, types.OCIManifestSchema1, &v1.Platform{OS: "linux", Architecture: "amd64"}),
		d(1, types.OCIManifestSchema1, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}),
		d(2, types.OCIManifestSchema1, &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}),
		{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: "d"}, Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:b"}},
		{MediaType: "application/vnd.example.sig", Digest: v1.Hash{Algorithm: "sha256", Hex: "e"}},
	}}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	im := testIndex()
	for _, tc := range []struct {
		sel  string
		want []string // hex of the entries kept
	}{
		// b's attestation d goes with b; the signature e never.
		{"all", []string{"a", "b", "c", "d"}},
		{"linux/arm64", []string{"b", "d"}},
		{"linux/arm64/v8,linux/amd64", []string{"a", "b", "d"}},
		{"linux/amd64", []string{"a"}},
	} {
		sel, err := ParseSelection(tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Filter(im, sel)
		if err != nil {
			t.Fatalf("Filter(%s): %v", tc.sel, err)
		}
		var hex []string
		for _, d := range got {
			hex = append(hex, d.Digest.Hex)
		}
		if !slices.Equal(hex, tc.want) {
			t.Errorf("Filter(%s) = %v, want %v", tc.sel, hex, tc.want)
		}
	}
	sel, _ := ParseSelection("linux/amd64,linux/s390x,windows/amd64")
	_, err := Filter(im, sel)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Filter of missing platforms: %v", err)
	}
	if want := "no image for platform linux/s390x, windows/amd64 (the index has: linux/amd64, linux/arm64/v8, linux/arm/v7)"; err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	im := testIndex()
	d, err := Pick(im, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	if err != nil || d.Digest.Hex != "c" {
		t.Errorf("Pick linux/arm/v7 = %v, %v", d.Digest, err)
	}
	if _, err := Pick(im, v1.Platform{OS: "unknown", Architecture: "unknown"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an attestation was picked as an image: %v", err)
	}
}

func TestSameAndOf(t *testing.T) {
	t.Parallel()
	a := &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	if !Same(a, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8", Features: []string{"x"}}) ||
		Same(a, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8.2"}) ||
		Same(a, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8", OSVersion: "1"}) {
		t.Error("Same compares OS, architecture, variant and OS version")
	}
	// Normalised, as containerd compares them: one index may not list both.
	if !Same(a, &v1.Platform{OS: "linux", Architecture: "arm64"}) || !Same(&v1.Platform{OS: "linux", Architecture: "arm"}, &v1.Platform{OS: "Linux", Architecture: "arm", Variant: "v7"}) {
		t.Error("linux/arm64 is linux/arm64/v8 and linux/arm is linux/arm/v7")
	}
	if Same(&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}) {
		t.Error("arm/v6 is not arm/v7")
	}
	if Of(&v1.ConfigFile{}) != nil {
		t.Error("a config without platform has none")
	}
	if p := Of(&v1.ConfigFile{OS: "linux", Architecture: "arm", Variant: "v6"}); String(p) != "linux/arm/v6" {
		t.Errorf("Of = %s", String(p))
	}
}

// TestAdd: an index's platforms are those its image entries name, each
// once; a child index that names none stands for the platforms it lists
// (an index of indexes is not unknown/unknown), else for unknown/unknown.
func TestAdd(t *testing.T) {
	t.Parallel()
	amd := &v1.Platform{OS: "linux", Architecture: "amd64"}
	var ps []string
	ps = Add(ps, v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: amd}, nil)
	ps = Add(ps, v1.Descriptor{MediaType: types.OCIImageIndex}, []string{"linux/amd64", "linux/arm64/v8"})
	ps = Add(ps, v1.Descriptor{MediaType: types.OCIImageIndex, Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}, []string{"linux/ppc64le"})
	ps = Add(ps, v1.Descriptor{MediaType: types.OCIImageIndex}, nil)
	if want := []string{"linux/amd64", "linux/arm64/v8", "linux/s390x", "unknown/unknown"}; !slices.Equal(ps, want) {
		t.Errorf("platforms %v, want %v", ps, want)
	}
}
