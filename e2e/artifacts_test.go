package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// imageWord finds "image" as a word of ctl's own (media types such as
// application/vnd.oci.image.manifest.v1+json do not count).
var imageWord = regexp.MustCompile(`(?i)(^|[\s:])images?\b`)

// TestArtifactIsNeverAnImage: an SBOM attached by oras is inspected,
// pulled, listed and inspected locally as an artifact, with its artifact
// type, subject and config media type, and no message calls it an image.
func TestArtifactIsNeverAnImage(t *testing.T) {
	t.Parallel()
	onEachKind(t, func(t *testing.T, _ registryKind, reg *testenv.Registry, e *testenv.Env) {
		_, sbom, _ := supplyChain(t, e, reg, "app")
		subject := e.Run(t, "digest", reg.Ref("app:v1"))
		ref := reg.Ref("app@" + sbom)
		noImage := func(what string, res testenv.Result) {
			t.Helper()
			if res.Code != 0 {
				t.Fatalf("%s: exit %d: %s", what, res.Code, res.Stderr)
			}
			if m := imageWord.FindString(res.Stdout + res.Stderr); m != "" {
				t.Errorf("%s calls the artifact an image (%q):\n%s%s", what, m, res.Stdout, res.Stderr)
			}
		}

		res := e.Run(t, "inspect", ref)
		noImage("inspect", res)
		for _, want := range []string{"Artifact:   " + sbomType, "Subject:    " + strings.TrimSpace(subject.Stdout), "Config:     application/vnd.oci.empty.v1+json"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("inspect lacks %q:\n%s", want, res.Stdout)
			}
		}

		res = e.Run(t, "pull", ref)
		noImage("pull", res)
		if !strings.Contains(res.Stdout, "Status: Downloaded artifact for ") {
			t.Errorf("pull: %s", res.Stdout)
		}
		res = e.Run(t, "pull", ref)
		noImage("pull again", res)
		if !strings.Contains(res.Stdout, "Status: Artifact is up to date for ") {
			t.Errorf("pull again: %s", res.Stdout)
		}

		res = e.Run(t, "images", "--format", "{{.Repository}} {{.CreatedSince}} {{.ArtifactType}}")
		if res.Code != 0 || !strings.Contains(res.Stdout, reg.Host+"/app artifact "+sbomType) {
			t.Errorf("images: %s %s", res.Stdout, res.Stderr)
		}

		res = e.Run(t, "image", "inspect", ref)
		var infos []struct{ ArtifactType, Subject, ConfigMediaType string }
		if err := json.Unmarshal([]byte(res.Stdout), &infos); err != nil || len(infos) != 1 ||
			infos[0].ArtifactType != sbomType || infos[0].Subject != strings.TrimSpace(subject.Stdout) {
			t.Errorf("image inspect: %v %s", err, res.Stdout)
		}
	})
}

// TestArtifactsInTheStore: a cosign signature (an image config over a
// signature layer, under its sha256-<hex>.sig tag) is an artifact like
// the SBOMs oras attaches: inspected, pulled and listed as one. Each
// artifact's ID is its own manifest digest, not the empty config they
// share, so rmi ID removes that one artifact, refuses one referenced in
// two repositories without -f, and says Deleted only for what goes.
func TestArtifactsInTheStore(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	sig, sbom, sbomSig := supplyChain(t, e, reg, "app")
	subject, err := v1.NewHash(strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:v1")).Stdout))
	if err != nil {
		t.Fatal(err)
	}
	cosign := testenv.CosignSign(t, reg.ParseRef(t, "app:v1").Context(), subject, "signed", reg.RemoteOptions()...)
	cosignRef := reg.Ref("app:" + strings.Replace(subject.String(), ":", "-", 1) + ".sig")
	noImage := func(what string, res testenv.Result, code int) {
		t.Helper()
		if res.Code != code {
			t.Fatalf("%s: exit %d, want %d: %s%s", what, res.Code, code, res.Stdout, res.Stderr)
		}
		if m := imageWord.FindString(res.Stdout + res.Stderr); m != "" {
			t.Errorf("%s calls an artifact an image (%q):\n%s%s", what, m, res.Stdout, res.Stderr)
		}
	}

	res := e.Run(t, "inspect", cosignRef)
	noImage("inspect", res, 0)
	if !strings.Contains(res.Stdout, "Artifact:   application/vnd.dev.cosign.simplesigning.v1+json") {
		t.Errorf("inspect of a cosign signature:\n%s", res.Stdout)
	}
	res = e.Run(t, "pull", cosignRef)
	noImage("pull", res, 0)
	if !strings.Contains(res.Stdout, "Status: Downloaded artifact for ") {
		t.Errorf("pull of a cosign signature: %s", res.Stdout)
	}
	for _, d := range []string{sig, sbom, sbomSig} {
		noImage("pull "+d, e.Run(t, "pull", reg.Ref("app@"+d)), 0)
	}

	// One row per artifact, each marked and with its digest as ID.
	res = e.Run(t, "images", "--no-trunc", "--format", "{{.ID}} {{.Digest}} {{.CreatedSince}}")
	rows := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if res.Code != 0 || len(rows) != 4 {
		t.Fatalf("images: exit %d, %d rows, want 4:\n%s%s", res.Code, len(rows), res.Stdout, res.Stderr)
	}
	for _, row := range rows {
		f := strings.Fields(row)
		if len(f) != 3 || f[0] != f[1] || f[2] != "artifact" {
			t.Errorf("images row %q: want ID = digest, and artifact", row)
		}
	}
	if res := e.Run(t, "images", "-q"); len(strings.Fields(res.Stdout)) != 4 {
		t.Errorf("images -q lists %q, want the 4 artifacts' IDs", res.Stdout)
	}

	// By ID: that artifact alone goes.
	res = e.Run(t, "rmi", sbom[7:19])
	noImage("rmi ID", res, 0)
	if want := "Untagged: " + reg.Ref("app@"+sbom) + "\nDeleted: " + sbom + "\n"; res.Stdout != want {
		t.Errorf("rmi %s:\n%s\nwant:\n%s", sbom[7:19], res.Stdout, want)
	}
	if res := e.Run(t, "images", "-q"); len(strings.Fields(res.Stdout)) != 3 {
		t.Errorf("after rmi of one artifact, images -q lists %q, want 3", res.Stdout)
	}

	// Referenced in two repositories: refused without -f, as docker does.
	if res := e.Run(t, "tag", cosignRef, "mirror:sig"); res.Code != 0 {
		t.Fatalf("tag: %s", res.Stderr)
	}
	id := cosign.Digest.Hex[:12]
	res = e.Run(t, "rmi", id)
	noImage("rmi of an artifact in two repositories", res, 1)
	if want := "conflict: unable to delete " + id + " (must be forced) - artifact is referenced in multiple repositories"; !strings.Contains(res.Stderr, want) || res.Stdout != "" {
		t.Errorf("rmi %s: stdout %q, stderr %q; want %q", id, res.Stdout, res.Stderr, want)
	}
	res = e.Run(t, "rmi", "-f", id)
	noImage("rmi -f", res, 0)
	if want := "Untagged: " + cosignRef + "\nUntagged: mirror:sig\nDeleted: " + cosign.Digest.String() + "\n"; res.Stdout != want {
		t.Errorf("rmi -f %s:\n%s\nwant:\n%s", id, res.Stdout, want)
	}
}
