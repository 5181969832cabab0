package e2e

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Artifact types of the supply chain the tests attach with oras.
const (
	sigType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	sbomType = "application/spdx+json"
)

// registryKind is a kind of registry the referrers tests run on.
type registryKind struct {
	name   string
	start  func(testing.TB) *testenv.Registry
	scheme string // what ctl referrers says it used
}

// registryKinds are the two ways a registry lists referrers: the OCI
// referrers API (go-containerregistry's registry) and, without it, the
// sha256-<hex> tag schema (distribution v3).
var registryKinds = []registryKind{
	{"referrers-api", testenv.StartReferrersRegistry, "referrers API"},
	{"tag-schema", func(t testing.TB) *testenv.Registry {
		return testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	}, "referrers tag schema"},
}

// onEachKind runs f, in parallel, on a fresh registry of each kind with a
// fresh Env.
func onEachKind(t *testing.T, f func(t *testing.T, kind registryKind, reg *testenv.Registry, e *testenv.Env)) {
	for _, kind := range registryKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			f(t, kind, kind.start(t), testenv.NewEnv(t))
		})
	}
}

// copyPair starts a source registry of kind from holding the supply chain
// in app:v1 and a destination of kind to, and returns them with a fresh
// Env and the source's referrers tree as oras sees it (digestTree).
func copyPair(t *testing.T, from, to registryKind) (src, dst *testenv.Registry, e *testenv.Env, want string) {
	t.Helper()
	src, dst = from.start(t), to.start(t)
	e = testenv.NewEnv(t)
	supplyChain(t, e, src, "app")
	return src, dst, e, digestTree(e.OrasDiscover(t, src.Ref("app:v1")))
}

// supplyChain pushes an image to repo:v1 and attaches, with oras, a
// signature, an SBOM and a signature of the SBOM. It returns the digests
// of the three artifacts.
func supplyChain(t *testing.T, e *testenv.Env, reg *testenv.Registry, repo string) (sig, sbom, sbomSig string) {
	t.Helper()
	reg.PushRandomImage(t, repo+":v1", 2, 512)
	sig = e.OrasAttach(t, reg.Ref(repo+":v1"), sigType, "signature of "+repo, "by=ctl-e2e")
	sbom = e.OrasAttach(t, reg.Ref(repo+":v1"), sbomType, `{"spdxVersion":"SPDX-2.3"}`)
	sbomSig = e.OrasAttach(t, reg.Ref(repo+"@"+sbom), sigType, "signature of the SBOM")
	return sig, sbom, sbomSig
}

// digestTree writes a referrers tree as its digests, siblings sorted:
// "a[b] c" for a (with b under it) and c.
func digestTree(ns []testenv.OrasNode) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		s := n.Digest
		if len(n.Referrers) > 0 {
			s += "[" + digestTree(n.Referrers) + "]"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// ctlTree runs ctl referrers --format json on ref (with more flags) and
// returns its referrers.
func ctlTree(t *testing.T, e *testenv.Env, ref string, flags ...string) []testenv.OrasNode {
	t.Helper()
	res := e.Run(t, append(append([]string{"referrers", "--format", "json"}, flags...), ref)...)
	if res.Code != 0 {
		t.Fatalf("ctl referrers %s: exit %d: %s", ref, res.Code, res.Stderr)
	}
	var out struct {
		Referrers []testenv.OrasNode `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("ctl referrers json: %v\n%s", err, res.Stdout)
	}
	return out.Referrers
}

// TestReferrersMatchOras: on both kinds of registry, ctl finds the same
// tree of referrers as oras discover, digest by digest, says how it found
// them, and filters by artifact type.
func TestReferrersMatchOras(t *testing.T) {
	t.Parallel()
	onEachKind(t, func(t *testing.T, kind registryKind, reg *testenv.Registry, e *testenv.Env) {
		sig, sbom, sbomSig := supplyChain(t, e, reg, "app")
		want := digestTree([]testenv.OrasNode{{Digest: sig}, {Digest: sbom, Referrers: []testenv.OrasNode{{Digest: sbomSig}}}})
		if got := digestTree(e.OrasDiscover(t, reg.Ref("app:v1"))); got != want {
			t.Fatalf("oras discover: %s, want %s", got, want)
		}
		if got := digestTree(ctlTree(t, e, reg.Ref("app:v1"))); got != want {
			t.Errorf("ctl referrers: %s\nwant (as oras): %s", got, want)
		}
		if got := digestTree(ctlTree(t, e, reg.Ref("app:v1"), "--artifact-type", sbomType)); got != sbom+"["+sbomSig+"]" {
			t.Errorf("ctl referrers --artifact-type %s: %s", sbomType, got)
		}

		res := e.Run(t, "discover", reg.Ref("app:v1"))
		if res.Code != 0 {
			t.Fatalf("ctl discover: %s", res.Stderr)
		}
		first, _, _ := strings.Cut(res.Stdout, "\n")
		if !strings.HasSuffix(first, "("+kind.scheme+")") || !strings.Contains(res.Stdout, sbomType+" "+sbom) ||
			!strings.Contains(res.Stdout, "by=ctl-e2e") {
			t.Errorf("ctl discover text:\n%s", res.Stdout)
		}
	})
}

// TestReferrersShared: one cosign signature of both the image and its SBOM
// (under both .sig tags), and the image's oras signature also tagged as
// its cosign attestation, are no loop. On both kinds of registry, ctl
// referrers shows them in each place, marked where they come again;
// copy --referrers to the other kind gives the same tree; delete
// --referrers leaves nothing behind.
func TestReferrersShared(t *testing.T) {
	t.Parallel()
	for i, kind := range registryKinds {
		to := registryKinds[1-i]
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			reg, dst, e := kind.start(t), to.start(t), testenv.NewEnv(t)
			sig, sbom, _ := supplyChain(t, e, reg, "app")
			repo := reg.ParseRef(t, "app:v1").Context()
			subject, err := v1.NewHash(strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:v1")).Stdout))
			if err != nil {
				t.Fatal(err)
			}
			cosign := testenv.CosignSign(t, repo, subject, "one signature of both", reg.RemoteOptions()...)
			if again := testenv.CosignSign(t, repo, v1.Hash{Algorithm: "sha256", Hex: sbom[7:]}, "one signature of both", reg.RemoteOptions()...); again.Digest != cosign.Digest {
				t.Fatalf("two signatures %s %s, want one", cosign.Digest, again.Digest)
			}
			attTag := strings.Replace(subject.String(), ":", "-", 1) + ".att"
			sigDesc, err := remote.Get(repo.Digest(sig), reg.RemoteOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Tag(repo.Tag(attTag), sigDesc, reg.RemoteOptions()...); err != nil {
				t.Fatal(err)
			}

			res := e.Run(t, "referrers", reg.Ref("app:v1"))
			if res.Code != 0 {
				t.Fatalf("ctl referrers: exit %d: %s", res.Code, res.Stderr)
			}
			if n := strings.Count(res.Stdout, "(shown above)"); n != 2 {
				t.Errorf("ctl referrers marks %d referrers shown above, want 2 (the cosign signature, the tagged signature):\n%s", n, res.Stdout)
			}
			if n := strings.Count(res.Stdout, cosign.Digest.String()); n != 2 {
				t.Errorf("the shared cosign signature is shown %d times, want in both places:\n%s", n, res.Stdout)
			}
			want := digestTree(ctlTree(t, e, reg.Ref("app:v1")))

			if res := e.Run(t, "copy", "--referrers", reg.Ref("app:v1"), dst.Ref("mirror:v1")); res.Code != 0 {
				t.Fatalf("copy --referrers: exit %d: %s", res.Code, res.Stderr)
			}
			if got := digestTree(ctlTree(t, e, dst.Ref("mirror:v1"))); got != want {
				t.Errorf("copied tree:\n%s\nwant the source's:\n%s", got, want)
			}

			if res := e.Run(t, "delete", "--referrers", reg.Ref("app@"+subject.String())); res.Code != 0 {
				t.Fatalf("delete --referrers: exit %d: %s", res.Code, res.Stderr)
			}
			if res := e.Run(t, "digest", reg.Ref("app@"+cosign.Digest.String())); res.Code != 3 {
				t.Errorf("the shared cosign signature is still there after delete --referrers (exit %d)", res.Code)
			}
			if tags := e.Run(t, "tags", "list", reg.Ref("app")); strings.Contains(tags.Stdout, "sha256-") {
				t.Errorf("tags left after delete --referrers:\n%s", tags.Stdout)
			}
		})
	}
}
