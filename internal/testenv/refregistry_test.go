package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReferrersRegistries checks the two registry kinds the referrers tests
// rely on: the test-tree registry answers the referrers API with what oras
// attached, and distribution v3 answers it 404, so oras falls back to the
// sha256-<hex> tag holding an index.
func TestReferrersRegistries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Registry
		api   bool // the referrers API answers
	}{
		{"referrers-api", StartReferrersRegistry, true},
		{"distribution", func(t testing.TB) *Registry { return StartRegistry(t, RegistryOptions{DeleteEnabled: true}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := tc.start(t)
			img := reg.PushRandomImage(t, "app:v1", 1, 256)
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			e := NewEnv(t)
			sig := e.OrasAttach(t, reg.Ref("app:v1"), "application/vnd.dev.cosign.artifact.sig.v1+json", "sig")
			sbom := e.OrasAttach(t, reg.Ref("app:v1"), "application/spdx+json", "{}")
			sbomSig := e.OrasAttach(t, reg.Ref("app@"+sbom), "application/vnd.dev.cosign.artifact.sig.v1+json", "sig of sbom")

			tree := e.OrasDiscover(t, reg.Ref("app:v1"))
			got := map[string][]string{}
			for _, n := range tree {
				for _, c := range n.Referrers {
					got[n.Digest] = append(got[n.Digest], c.Digest)
				}
				if _, ok := got[n.Digest]; !ok {
					got[n.Digest] = nil
				}
			}
			if len(got) != 2 || len(got[sbom]) != 1 || got[sbom][0] != sbomSig {
				t.Errorf("oras discover: %v, want %s and %s with %s under the second", got, sig, sbom, sbomSig)
			}
			if _, ok := got[sig]; !ok {
				t.Errorf("oras discover: %v lacks the signature %s", got, sig)
			}

			resp, err := http.Get(reg.URL + "/v2/app/referrers/" + d.String())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !tc.api {
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET referrers on distribution: %d %s, want 404", resp.StatusCode, body)
				}
				// oras fell back to the tag schema.
				tag := strings.Replace(d.String(), ":", "-", 1)
				resp, err = http.Get(reg.URL + "/v2/app/manifests/" + tag)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET fallback tag %s: %d", tag, resp.StatusCode)
				}
				return
			}
			// This registry sends no OCI-Subject header, so oras writes the
			// tag schema too; the API lists the referrers all the same.
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), sig) || !strings.Contains(string(body), sbom) {
				t.Errorf("GET referrers: %d %s, want %s and %s", resp.StatusCode, body, sig, sbom)
			}
		})
	}
}
