package cmd

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestReferrersFlagsToOptions(t *testing.T) {
	t.Parallel()
	streams, _, _ := TestIO("")
	f := &Factory{IO: streams, Opts: &GlobalOptions{}}
	var got *referrersOptions
	root := NewRootCmd(f)
	for _, c := range root.Commands() {
		if c.Name() == "referrers" {
			*c = *newReferrersCmd(f, func(o *referrersOptions) error { got = o; return nil })
		}
	}
	root.SetArgs([]string{"discover", "--artifact-type", "application/spdx+json", "--platforms", "--format", "json", "reg/app:v1"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Ref != "reg/app:v1" || got.ArtifactType != "application/spdx+json" || !got.Platforms || got.Format != "json" {
		t.Errorf("options: %+v", got)
	}
}

// TestReferrersTree prints the tree of a signature, an SBOM and the SBOM's
// signature, as text and as JSON.
func TestReferrersTree(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	subj, _ := partial.Descriptor(img)
	sbom := testenv.Attach(t, ref.Context(), *subj, "application/spdx+json", map[string]string{"kind": "sbom"})
	sig := testenv.Attach(t, ref.Context(), sbom, "application/vnd.dev.cosign.artifact.sig.v1+json", map[string]string{"kind": "sig"})

	streams, out, _ := TestIO("")
	f := &Factory{IO: streams, Opts: &GlobalOptions{Config: t.TempDir()}}
	opts := &referrersOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1", Format: "text"}
	if err := runReferrers(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := host + "/app@" + subj.Digest.String() + " (referrers API)\n" +
		"└── application/spdx+json " + sbom.Digest.String() + " " + humanSize(sbom.Size) + "\n" +
		"    │   kind=sbom\n" +
		"    └── application/vnd.dev.cosign.artifact.sig.v1+json " + sig.Digest.String() + " " + humanSize(sig.Size) + "\n" +
		"            kind=sig\n"
	if out.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", out, want)
	}

	out.Reset()
	opts.Format = "json"
	if err := runReferrers(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Scheme    string
		Digest    string
		Referrers []struct {
			Digest, ArtifactType string
			Referrers            []struct{ Digest string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil {
		t.Fatal(err)
	}
	if js.Scheme != "referrers-api" || js.Digest != subj.Digest.String() || len(js.Referrers) != 1 ||
		js.Referrers[0].Digest != sbom.Digest.String() || len(js.Referrers[0].Referrers) != 1 || js.Referrers[0].Referrers[0].Digest != sig.Digest.String() {
		t.Errorf("json: %s", out)
	}

	// The SBOM's signature also under the image's cosign tag: no loop,
	// shown there too, marked as shown above.
	sigImg, err := remote.Image(ref.Context().Digest(sig.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	cosignTag := strings.Replace(subj.Digest.String(), ":", "-", 1) + ".sig"
	if err := remote.Write(ref.Context().Tag(cosignTag), sigImg); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	opts.Format = "text"
	if err := runReferrers(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want = host + "/app@" + subj.Digest.String() + " (referrers API)\n" +
		"├── application/spdx+json " + sbom.Digest.String() + " " + humanSize(sbom.Size) + "\n" +
		"│   │   kind=sbom\n" +
		"│   └── application/vnd.dev.cosign.artifact.sig.v1+json " + sig.Digest.String() + " " + humanSize(sig.Size) + "\n" +
		"│           kind=sig\n" +
		"└── application/vnd.dev.cosign.artifact.sig.v1+json " + sig.Digest.String() + " " + humanSize(sig.Size) + " (tag " + cosignTag + ") (shown above)\n" +
		"        kind=sig\n"
	if out.String() != want {
		t.Errorf("text with a shared referrer:\n%s\nwant:\n%s", out, want)
	}
}

// TestCopyReferrersFlags: --referrers is parsed, and refuses the
// combinations it does not handle before any request.
func TestCopyReferrersFlags(t *testing.T) {
	t.Parallel()
	streams, _, _ := TestIO("")
	f := &Factory{IO: streams, Opts: &GlobalOptions{Config: t.TempDir()}}
	var got *copyOptions
	c := newCopyCmd(f, func(o *copyOptions) error { got = o; return nil })
	c.SetArgs([]string{"--referrers", "a/b:1", "c/d:1"})
	if err := c.Execute(); err != nil || got == nil || !got.Referrers {
		t.Fatalf("options %+v, %v", got, err)
	}
	got.Registry = f.Registry
	got.Platform = "linux/amd64"
	if err := runCopy(context.Background(), got); err == nil || !strings.Contains(err.Error(), "--referrers") {
		t.Errorf("--referrers --platform: %v", err)
	} else if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}
