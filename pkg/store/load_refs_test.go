package store

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// classicTar writes img as a classic docker save archive (no index.json)
// whose manifest.json names it repoTags.
func classicTar(t testing.TB, img v1.Image, repoTags []string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := tarball.Write(name.MustParseReference("x:1"), img, &buf); err != nil {
		t.Fatal(err)
	}
	members := tarMembers(t, buf.Bytes())
	var dm tarball.Manifest
	if err := json.Unmarshal(members["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	dm[0].RepoTags = repoTags
	members["manifest.json"], _ = json.Marshal(dm)
	return writeMembers(t, members)
}

// writeMembers writes a tar of members (in name order) and returns its path.
func writeMembers(t testing.TB, members map[string][]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "archive.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, n := range slices.Sorted(maps.Keys(members)) {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(members[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(members[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDigestReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := randomImage(t, 1000, 1)
	d := digestOf(t, img)
	other := "sha256:" + strings.Repeat("0", 64)
	layout := func(refName string) string {
		dir := filepath.Join(t.TempDir(), "layout")
		writeLayout(t, dir, img, refName)
		return dir
	}
	for _, tc := range []struct {
		name    string
		path    string
		wantRef string // "" with wantErr: refused; "" alone: untagged
		wantErr string
	}{
		{"oci digest", layout("docker.io/library/app@" + d.String()), "docker.io/library/app@" + d.String(), ""},
		{"oci tag and digest", layout("docker.io/library/app:v2@" + d.String()), "docker.io/library/app:v2", ""},
		{"oci tag and wrong digest", layout("docker.io/library/app:v2@" + other), "", "its manifest's digest is " + d.String()},
		{"oci wrong digest", layout("app@" + other), "", "its manifest's digest is"},
		{"oci bare digest", layout(d.String()), "", ""},
		{"classic digest", classicTar(t, img, []string{"app@" + d.String()}), "", "a classic docker save archive has no manifest"},
		{"classic tag and digest", classicTar(t, img, []string{"app:v1@" + other}), "", "a classic docker save archive has no manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			got, err := s.Load(ctx, tc.path)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want invalid input with %q", err, tc.wantErr)
				}
				if all, _ := s.List(); len(all) != 0 {
					t.Fatalf("stored %+v", all)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Ref != tc.wantRef || got[0].Digest != d {
				t.Fatalf("loaded %+v, want %q at %s", got, tc.wantRef, d)
			}
			all, _ := s.List()
			if len(all) != 1 || all[0].Ref != tc.wantRef {
				t.Fatalf("stored %+v", all)
			}
			if tc.wantRef != "" {
				if e, err := s.Resolve(tc.wantRef); err != nil || e.Digest != d {
					t.Fatalf("Resolve(%s) = %+v, %v", tc.wantRef, e, err)
				}
			}
		})
	}
}
