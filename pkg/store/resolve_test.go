package store

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func hashOf(c byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(c), 64)}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	a, b := hashOf('a'), hashOf('b')
	all := []Entry{
		{Ref: "docker.io/library/nginx:latest", Digest: a, ID: hashOf('1')},
		{Ref: "docker.io/user/web:v1", Digest: a, ID: hashOf('1')},
		{Ref: "localhost:5000/app@" + b.String(), Digest: b, ID: hashOf('2')},
		{Ref: "", Digest: hashOf('c'), ID: hashOf('3')},
		{Ref: "docker.io/library/12ab:latest", Digest: hashOf('d'), ID: hashOf('4')},
		{Ref: "docker.io/library/x:1", Digest: hashOf('e'), ID: v1.Hash{Algorithm: "sha256", Hex: "1" + strings.Repeat("f", 63)}},
	}
	for _, tc := range []struct {
		source string
		digest v1.Hash // want; zero when an error is wanted
		ref    string  // want Entry.Ref
		err    error   // want errors.Is
	}{
		{"nginx", a, "docker.io/library/nginx:latest", nil},
		{"docker.io/library/nginx:latest", a, "docker.io/library/nginx:latest", nil},
		{"index.docker.io/user/web:v1", a, "docker.io/user/web:v1", nil},
		{"nginx@" + a.String(), a, "docker.io/library/nginx:latest", nil},
		{"localhost:5000/app@" + b.String(), b, "localhost:5000/app@" + b.String(), nil},
		{"333", hashOf('c'), "", nil},                               // ID prefix of an untagged image
		{hashOf('3').String(), hashOf('c'), "", nil},                // full image ID
		{a.String(), a, "", nil},                                    // manifest digest
		{"12ab", hashOf('d'), "docker.io/library/12ab:latest", nil}, // a name wins over an ID prefix
		{"1", v1.Hash{}, "", ErrInvalidInput},                       // ambiguous prefix
		{"nginx:2", v1.Hash{}, "", ErrNotFound},
		{"web", v1.Hash{}, "", ErrNotFound},
		{"sha256:zz", v1.Hash{}, "", ErrInvalidInput},
		{"sha256:333", hashOf('c'), "", nil},         // an ID prefix written as docker prints IDs with --no-trunc
		{"sha256:1", v1.Hash{}, "", ErrInvalidInput}, // ambiguous
		{"sha256:999", v1.Hash{}, "", ErrNotFound},   // no such ID
		{"sha256:" + strings.Repeat("3", 65), v1.Hash{}, "", ErrInvalidInput},
		{"Upper/Case", v1.Hash{}, "", nil},
	} {
		got, err := resolve(all, tc.source)
		switch {
		case tc.digest == (v1.Hash{}):
			if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("resolve(%q) = %+v, %v; want error %v", tc.source, got, err, tc.err)
			}
		case err != nil || got.Digest != tc.digest || got.Ref != tc.ref:
			t.Errorf("resolve(%q) = %+v, %v; want %s %q", tc.source, got, err, tc.digest, tc.ref)
		}
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	all := []Entry{
		{Ref: "docker.io/library/image-gallery:latest"},
		{Ref: "docker.io/user/image-gallery:v1"},
		{Ref: "registry.local:5000/gallery/ui:v1"},
		{Ref: "docker.io/library/nginx:1.25"},
		{Ref: ""},
	}
	yes, no := true, false
	for _, tc := range []struct {
		patterns []string
		dangling *bool
		want     int
	}{
		{nil, nil, 5},
		{[]string{"image-gallery"}, nil, 1},
		{[]string{"*/image-gallery"}, nil, 1},
		{[]string{"image-gallery", "*/image-gallery"}, nil, 2},
		{[]string{"*/gallery/ui"}, nil, 1},
		{[]string{"nginx:1.*"}, nil, 1},
		{[]string{"docker.io/library/nginx:1.25"}, nil, 1},
		{[]string{"nginx:2"}, nil, 0},
		{nil, &yes, 1},
		{nil, &no, 4},
	} {
		got, err := Filter(all, tc.patterns, tc.dangling)
		if err != nil || len(got) != tc.want {
			t.Errorf("Filter(%q, %v) = %d entries, %v; want %d", tc.patterns, tc.dangling, len(got), err, tc.want)
		}
	}
	if _, err := Filter(all, []string{"[bad"}, nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad pattern: %v", err)
	}
}

func TestReadTarRefusesEscapes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, tc := range []struct {
		name string
		hdr  tar.Header
		ok   bool
	}{
		{"plain", tar.Header{Name: "a/b.json", Typeflag: tar.TypeReg}, true},
		{"dot slash", tar.Header{Name: "./manifest.json", Typeflag: tar.TypeReg}, true},
		{"parent", tar.Header{Name: "../x", Typeflag: tar.TypeReg}, false},
		{"inner parent", tar.Header{Name: "a/../../x", Typeflag: tar.TypeReg}, false},
		{"absolute", tar.Header{Name: "/etc/passwd", Typeflag: tar.TypeReg}, false},
		{"backslash", tar.Header{Name: `a\..\..\x`, Typeflag: tar.TypeReg}, false},
		{"symlink inside", tar.Header{Name: "a/l", Typeflag: tar.TypeSymlink, Linkname: "../b"}, true},
		{"symlink out", tar.Header{Name: "a/l", Typeflag: tar.TypeSymlink, Linkname: "../../b"}, false},
		{"symlink absolute", tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, false},
		{"hardlink out", tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "../x"}, false},
		{"hardlink inside", tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "a/b"}, true},
		{"device", tar.Header{Name: "d", Typeflag: tar.TypeChar}, false},
		{"fifo", tar.Header{Name: "f", Typeflag: tar.TypeFifo}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			hdr := tc.hdr
			hdr.Mode = 0o644
			if err := tw.WriteHeader(&hdr); err != nil {
				t.Fatal(err)
			}
			tw.Close()
			src, err := s.readTar(&buf, newBatch(s))
			if tc.ok != (err == nil) {
				t.Fatalf("readTar: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v is not ErrInvalidInput", err)
			}
			if src != nil {
				src.close()
			}
		})
	}
}

func TestLinkLoops(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "b"})
	tw.WriteHeader(&tar.Header{Name: "b", Typeflag: tar.TypeSymlink, Linkname: "a"})
	tw.Close()
	src, err := s.readTar(&buf, newBatch(s))
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	if _, err := src.read("a", 10); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("link loop: %v", err)
	}
}
