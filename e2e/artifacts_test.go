package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
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
