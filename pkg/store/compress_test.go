package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// TestLoadCompressedArchives: docker load's compressions of a whole
// archive load (gzip, bzip2, zstd); xz, which ctl has no decoder for, is
// refused naming it. bzip2 streams are made by the bzip2 program (Go has
// no bzip2 encoder).
func TestLoadCompressedArchives(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "app.tar")
	img := randomImage(t, 2<<20, 2) // a member above the in-memory threshold
	testenv.ImagesTar(t, plain, map[string]v1.Image{"app:v1": img}, false)
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(raw)
	ze.Close()
	bz, err := exec.Command("bzip2", "-c", plain).Output()
	if err != nil {
		t.Fatalf("bzip2 (needed to make a bzip2 archive): %v", err)
	}
	xz := append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, raw[:64]...)
	for name, data := range map[string][]byte{"gzip": gz.Bytes(), "bzip2": bz, "zstd": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			got, err := s.LoadStream(context.Background(), bytes.NewReader(data), name)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := img.ConfigName()
			if len(got) != 1 || got[0].Ref != "docker.io/library/app:v1" || got[0].ID != cfg {
				t.Fatalf("loaded %+v", got)
			}
		})
	}
	s := newStore(t)
	_, err = s.LoadStream(context.Background(), bytes.NewReader(xz), "app.tar.xz")
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "xz-compressed") {
		t.Fatalf("xz: %v, want invalid input naming xz", err)
	}
}
