package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FuzzLoadStream feeds arbitrary bytes to the archive loader: it must
// never panic, must fail with ErrInvalidInput on bad input, must leave no
// temp file behind, and whatever it loads must read back.
func FuzzLoadStream(f *testing.F) {
	img := randomImage(f, 200, 1)
	tag, _ := name.NewTag("fuzz:1")
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{tag: img}, &buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	s0 := newStore(f)
	e, err := s0.WriteImage(context.Background(), img, ref(f, "fuzz:1"))
	if err != nil {
		f.Fatal(err)
	}
	var oci bytes.Buffer
	if err := s0.Save(context.Background(), &oci, []Entry{e}, FormatOCI, platform.Selection{}); err != nil {
		f.Fatal(err)
	}
	f.Add(oci.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStore(t)
		got, err := s.LoadStream(context.Background(), bytes.NewReader(data), "fuzz")
		if err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("error not marked invalid input: %v", err)
		}
		if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
			t.Fatalf("temp files left: %v", tmp)
		}
		for _, e := range got {
			if e.IsIndex() {
				continue
			}
			if _, err := s.Image(e.Digest); err != nil {
				t.Fatalf("loaded image unreadable: %v", err)
			}
		}
	})
}
