package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact types of the fixtures.
const (
	sigType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	sbomType = "application/spdx+json"
)

// refServer is an in-process go-containerregistry registry, with or
// without the referrers API; wrap, when set, sees every request first and
// may answer it itself (returning true).
func refServer(t *testing.T, api bool, wrap func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(api))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrap != nil && wrap(w, r) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pushImage writes a random image to srv's repo under tag.
func pushImage(t *testing.T, srv *httptest.Server, repo, tag string) v1.Descriptor {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return pushManifest(t, srv, repo+":"+tag, img)
}

// attach writes an artifact of artifactType (labelled, so each one is
// distinct) with subject to srv's repo.
func attach(t *testing.T, srv *httptest.Server, repo string, subject v1.Descriptor, artifactType, label string) v1.Descriptor {
	t.Helper()
	r, err := name.NewRepository(hostOf(srv)+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Attach(t, r, subject, artifactType, map[string]string{"label": label})
}

func pushManifest(t *testing.T, srv *httptest.Server, ref string, img v1.Image) v1.Descriptor {
	t.Helper()
	r, err := name.ParseReference(hostOf(srv)+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	return *d
}

// shape prints a tree as "digest[child child]" with short digests, in
// order, for comparison.
func shape(ns []Referrer) string {
	var parts []string
	for _, n := range ns {
		s := n.Digest[7:19]
		if n.Tag != "" {
			s += "(" + n.Tag[len(n.Tag)-4:] + ")"
		}
		if n.ShownAbove {
			s += "^"
		}
		if len(n.Referrers) > 0 {
			s += "[" + shape(n.Referrers) + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func short(ds ...v1.Descriptor) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Digest.Hex[:12])
	}
	return s
}

// TestReferrersBothSchemes discovers a signature, an SBOM, the SBOM's
// signature and a cosign .sig tag, through the referrers API and through
// the tag schema, and filters by artifact type.
func TestReferrersBothSchemes(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{true, false} {
		t.Run(fmt.Sprint("api=", api), func(t *testing.T) {
			t.Parallel()
			srv := refServer(t, api, nil)
			subj := pushImage(t, srv, "app", "v1")
			sig := attach(t, srv, "app", subj, sigType, "sig")
			sbom := attach(t, srv, "app", subj, sbomType, "sbom")
			sbomSig := attach(t, srv, "app", sbom, sigType, "sbom-sig")
			cosign := pushImage(t, srv, "app", strings.Replace(subj.Digest.String(), ":", "-", 1)+".sig")

			c := newTestClient(t)
			tree, err := c.Referrers(context.Background(), mustRef(t, hostOf(srv)+"/app:v1"), ReferrersOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := ReferrersTagSchema
			if api {
				want = ReferrersAPI
			}
			if tree.Scheme != want || tree.Digest != subj.Digest.String() {
				t.Errorf("scheme %q digest %s, want %q %s", tree.Scheme, tree.Digest, want, subj.Digest)
			}
			got := map[string]string{}
			for _, n := range tree.Referrers {
				got[n.Digest[7:19]] = shape(n.Referrers) + "|" + n.ArtifactType + "|" + n.Tag
			}
			s := short(sig, sbom, sbomSig, cosign)
			wantMap := map[string]string{
				s[0]: "|" + sigType + "|",
				s[1]: s[2] + "|" + sbomType + "|",
				s[3]: "|" + string(types.DockerConfigJSON) + "|" + strings.Replace(subj.Digest.String(), ":", "-", 1) + ".sig",
			}
			if fmt.Sprint(got) != fmt.Sprint(wantMap) {
				t.Errorf("tree %v\nwant %v", got, wantMap)
			}
			if n := tree.Referrers[0]; n.Reference != hostOf(srv)+"/app@"+n.Digest {
				t.Errorf("reference %q", n.Reference)
			}

			tree, err = c.Referrers(context.Background(), mustRef(t, hostOf(srv)+"/app:v1"), ReferrersOptions{ArtifactType: sbomType})
			if err != nil {
				t.Fatal(err)
			}
			if got := shape(tree.Referrers); got != s[1]+"["+s[2]+"]" {
				t.Errorf("filtered by %s: %s, want the SBOM with its signature", sbomType, got)
			}
		})
	}
}

// TestReferrersShared: a referrer reached twice, in two places, is no
// loop: one cosign signature of both the image and its SBOM (under both
// .sig tags), and the SBOM listed as the image's referrer and tagged as
// its cosign attestation too. Each is shown in every place, walked once:
// what refers to it hangs under its first place only.
func TestReferrersShared(t *testing.T) {
	t.Parallel()
	tagOf := func(d v1.Descriptor) string { return strings.Replace(d.Digest.String(), ":", "-", 1) }
	for _, api := range []bool{true, false} {
		t.Run(fmt.Sprint("api=", api), func(t *testing.T) {
			t.Parallel()
			var reqs atomic.Int64
			srv := refServer(t, api, func(_ http.ResponseWriter, r *http.Request) bool {
				// The walk's requests, not the ping that may go beside the
				// first of them.
				if r.URL.Path != "/v2/" {
					reqs.Add(1)
				}
				return false
			})
			subj := pushImage(t, srv, "app", "v1")
			sbom := attach(t, srv, "app", subj, sbomType, "sbom")
			cosign := pushImage(t, srv, "app", tagOf(subj)+".sig")
			pushManifest(t, srv, "app:"+tagOf(sbom)+".sig", mustImage(t, srv, "app@"+cosign.Digest.String()))
			att := pushImage(t, srv, "app", tagOf(cosign)+".att")
			pushManifest(t, srv, "app:"+tagOf(subj)+".att", mustImage(t, srv, "app@"+sbom.Digest.String()))

			reqs.Store(0)
			tree, err := newTestClient(t).Referrers(context.Background(), mustRef(t, hostOf(srv)+"/app:v1"), ReferrersOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := short(sbom, cosign, att)
			if got, want := shape(tree.Referrers), s[0]+"["+s[1]+"(.sig)["+s[2]+"(.att)]] "+s[1]+"(.sig)^ "+s[0]+"(.att)^"; got != want {
				t.Errorf("tree %s\nwant %s", got, want)
			}
			// Walked once: the subject's manifest and the SBOM's listed
			// entry fetched, and for each of the 4 manifests its list (one
			// more request to find the API missing) and 3 cosign tags
			// asked: 19 at most. Walking the shared ones again is 12 more.
			if n := reqs.Load(); n > 2+4*4+1 {
				t.Errorf("%d requests: the shared referrers were walked again", n)
			}
		})
	}
}

// TestReferrersPlatforms finds the referrers of an index's children.
func TestReferrersPlatforms(t *testing.T) {
	t.Parallel()
	srv := refServer(t, true, nil)
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(hostOf(srv)+"/multi:v1", name.Insecure)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	child := im.Manifests[1]
	sig := attach(t, srv, "multi", child, sigType, "child-sig")
	c := newTestClient(t)
	tree, err := c.Referrers(context.Background(), mustRef(t, hostOf(srv)+"/multi:v1"), ReferrersOptions{Platforms: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Referrers) != 0 || len(tree.Manifests) != 2 || shape(tree.Manifests[1].Referrers) != short(sig)[0] || len(tree.Manifests[0].Referrers) != 0 {
		t.Errorf("tree %+v: want the signature under the second child only", tree)
	}
}

// TestReferrersBadInput: answers that are not an index, referrers that do
// not resolve or name another subject, loops and endless Link chains end
// in a clear, typed error after a bounded number of requests.
func TestReferrersBadInput(t *testing.T) {
	t.Parallel()
	isReferrers := func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/referrers/") }
	missing := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		api     bool
		wrap    func(w http.ResponseWriter, r *http.Request) bool
		setup   func(t *testing.T, srv *httptest.Server, subj v1.Descriptor)
		wantIs  error
		wantMsg string
		maxReqs int64
	}{
		{name: "not an index", api: true, wrap: func(w http.ResponseWriter, r *http.Request) bool {
			if !isReferrers(r) {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"tags":["x"]}`)
			return true
		}, wantIs: ErrBadReferrers, wantMsg: "is not an OCI image index", maxReqs: 10},
		{name: "listed digest does not resolve", api: true, wrap: func(w http.ResponseWriter, r *http.Request) bool {
			if !isReferrers(r) {
				return false
			}
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":10}]}`, types.OCIImageIndex, types.OCIManifestSchema1, missing)
			return true
		}, wantIs: ErrNotFound, wantMsg: missing + ", listed as a referrer of", maxReqs: 10},
		{name: "endless Link", api: true, wrap: func(w http.ResponseWriter, r *http.Request) bool {
			if !isReferrers(r) {
				return false
			}
			var b strings.Builder
			for i := range 200 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"mediaType":%q,"digest":"sha256:%064x","size":10}`, types.OCIManifestSchema1, i)
			}
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Header().Set("Link", fmt.Sprintf(`<%s?page=%s0>; rel="next"`, r.URL.Path, r.URL.Query().Get("page")))
			fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, types.OCIImageIndex, b.String())
			return true
		}, wantIs: ErrTooManyReferrers, wantMsg: "more than 4096 listed", maxReqs: 40},
		{name: "fallback tag holds an image", setup: func(t *testing.T, srv *httptest.Server, subj v1.Descriptor) {
			pushImage(t, srv, "app", strings.Replace(subj.Digest.String(), ":", "-", 1))
		}, wantIs: ErrBadReferrers, wantMsg: "not an index", maxReqs: 10},
		{name: "fallback index lists another's referrer", setup: func(t *testing.T, srv *httptest.Server, subj v1.Descriptor) {
			other := pushImage(t, srv, "app", "other")
			stray := attach(t, srv, "app", other, sigType, "stray")
			idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: mustImage(t, srv, "app@"+stray.Digest.String()), Descriptor: stray})
			r, _ := name.ParseReference(hostOf(srv)+"/app:"+strings.Replace(subj.Digest.String(), ":", "-", 1), name.Insecure)
			if err := remote.WriteIndex(r, idx); err != nil {
				t.Fatal(err)
			}
		}, wantIs: ErrBadReferrers, wantMsg: "does not name it as its subject", maxReqs: 20},
		{name: "cosign tags loop", setup: func(t *testing.T, srv *httptest.Server, subj v1.Descriptor) {
			b := pushImage(t, srv, "app", strings.Replace(subj.Digest.String(), ":", "-", 1)+".sig")
			img := mustImage(t, srv, "app:v1")
			pushManifest(t, srv, "app:"+strings.Replace(b.Digest.String(), ":", "-", 1)+".att", img)
		}, wantIs: ErrBadReferrers, wantMsg: "is listed among what refers to itself (a loop)", maxReqs: 40},
		{name: "a referrer under its own cosign tag", setup: func(t *testing.T, srv *httptest.Server, subj v1.Descriptor) {
			b := pushImage(t, srv, "app", strings.Replace(subj.Digest.String(), ":", "-", 1)+".sig")
			pushManifest(t, srv, "app:"+strings.Replace(b.Digest.String(), ":", "-", 1)+".att", mustImage(t, srv, "app@"+b.Digest.String()))
		}, wantIs: ErrBadReferrers, wantMsg: "is listed among what refers to itself (a loop)", maxReqs: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var reqs atomic.Int64
			srv := refServer(t, tc.api, func(w http.ResponseWriter, r *http.Request) bool {
				reqs.Add(1)
				return tc.wrap != nil && tc.wrap(w, r)
			})
			subj := pushImage(t, srv, "app", "v1")
			if tc.setup != nil {
				tc.setup(t, srv, subj)
			}
			reqs.Store(0)
			_, err := newTestClient(t).Referrers(context.Background(), mustRef(t, hostOf(srv)+"/app:v1"), ReferrersOptions{})
			if !errors.Is(err, tc.wantIs) || !strings.Contains(fmt.Sprint(err), tc.wantMsg) {
				t.Errorf("error %v, want %v containing %q", err, tc.wantIs, tc.wantMsg)
			}
			if n := reqs.Load(); n > tc.maxReqs {
				t.Errorf("%d requests, want at most %d", n, tc.maxReqs)
			}
		})
	}
}

func mustImage(t *testing.T, srv *httptest.Server, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(hostOf(srv)+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
