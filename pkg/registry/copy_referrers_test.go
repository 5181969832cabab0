package registry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestCopyReferrersReadBack: a destination that takes every referrer but
// does not list one of them fails the copy with ErrReferrersIncomplete,
// naming the missing one.
func TestCopyReferrersReadBack(t *testing.T) {
	t.Parallel()
	src := refServer(t, true, nil)
	subj := pushImage(t, src, "app", "v1")
	sig := attach(t, src, "app", subj, sigType, "sig")
	sbom := attach(t, src, "app", subj, sbomType, "sbom")

	// The destination leaves sig out of its referrers answers.
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true))
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/referrers/") {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		var idx v1.IndexManifest
		if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
			t.Errorf("referrers answer: %v", err)
		}
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Digest != sig.Digest {
				kept = append(kept, d)
			}
		}
		idx.Manifests = kept
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(idx)
	}))
	t.Cleanup(dst.Close)

	c := newTestClient(t)
	ctx := context.Background()
	srcRef, dstRef := mustRef(t, hostOf(src)+"/app:v1"), mustRef(t, hostOf(dst)+"/mirror:v1")
	tree, err := c.Referrers(ctx, srcRef, ReferrersOptions{Platforms: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(ctx, srcRef, dstRef, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CopyReferrers(ctx, srcRef, dstRef, tree, nil)
	if !errors.Is(err, ErrReferrersIncomplete) || !strings.Contains(err.Error(), sig.Digest.String()) || strings.Contains(err.Error(), sbom.Digest.String()) {
		t.Errorf("error %v, want ErrReferrersIncomplete naming %s only", err, sig.Digest)
	}
}
