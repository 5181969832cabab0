package registry

// The retry bound of blob uploads, through the fault proxy in front of the
// real distribution registry: one retry budget per blob, however the
// upload's requests fail.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestUploadRetriesBounded: under a fault on blob uploads that never
// clears, a push tries each blob's upload at most the policy's Attempts
// times in all, then fails with the transport's RetryError: an upload is
// not started again on top of the transport's retries.
func TestUploadRetriesBounded(t *testing.T) {
	t.Parallel()
	const attempts = 3
	policy := ctltransport.RetryPolicy{Attempts: attempts, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxTime: 20 * time.Second, MaxRetryAfter: time.Second}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	const uploads = "/blobs/uploads/"
	for _, tc := range []struct {
		name   string
		method string            // the upload request the fault hits
		kind   testenv.FaultKind // what it does
		status int               // for FaultStatus
	}{
		{"503 on every PUT", http.MethodPut, testenv.FaultStatus, http.StatusServiceUnavailable},
		{"503 on every POST", http.MethodPost, testenv.FaultStatus, http.StatusServiceUnavailable},
		{"reset on every PUT", http.MethodPut, testenv.FaultDropBeforeResponse, 0},
		{"reset on every POST", http.MethodPost, testenv.FaultDropBeforeResponse, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
			proxy.AddFault(testenv.Fault{Method: tc.method, PathRegexp: uploads, Kind: tc.kind, Status: tc.status})
			c := anonymous(t, WithRetryPolicy(policy), WithTimeouts(2*time.Second, 2*time.Second))
			img, err := random.Image(1024, 2)
			if err != nil {
				t.Fatal(err)
			}
			const blobs = 3 // the config and two layers
			ref := mustRef(t, proxy.Host+"/bound/app:v1")
			_, err = c.Push(context.Background(), ref, []PushTag{{Tag: "v1", Artifact: img}}, PushOptions{})
			var re *ctltransport.RetryError
			if !errors.As(err, &re) {
				t.Fatalf("push under endless faults: %v, want a RetryError", err)
			}
			posts, puts := map[string]int{}, map[string]int{}
			for _, r := range proxy.Requests() {
				if !strings.Contains(r.Path, uploads) {
					continue
				}
				switch r.Method {
				case http.MethodPost:
					posts[""]++
				case http.MethodPut:
					q, _ := url.ParseQuery(r.RawQuery)
					puts[q.Get("digest")]++
				}
			}
			// Every failed try counts against the blob's budget: at most
			// Attempts of the faulted request per blob.
			if tc.method == http.MethodPut {
				for d, n := range puts {
					if n > attempts {
						t.Errorf("%d PUTs of blob %s, want at most %d (the policy's attempts)", n, d, attempts)
					}
				}
				// The transport gave up on the PUT: no new session.
				if n := posts[""]; n > blobs {
					t.Errorf("%d upload sessions for %d blobs, want at most one each", n, blobs)
				}
			} else if n := posts[""]; n > attempts*blobs {
				t.Errorf("%d POSTs for %d blobs, want at most %d (the policy's attempts per blob)", n, blobs, attempts*blobs)
			}
		})
	}
}

// TestUploadSessionLostIsRestarted: an upload whose session the registry
// no longer knows is started again on a new session, within the blob's
// budget.
func TestUploadSessionLostIsRestarted(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	proxy.AddFault(testenv.Fault{Method: http.MethodPut, PathRegexp: "/blobs/uploads/", Times: 1, Kind: testenv.FaultStatus, Status: http.StatusNotFound,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}`})
	c := anonymous(t, fast...)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, proxy.Host+"/lost/app:v1")
	if _, err := c.Push(context.Background(), ref, []PushTag{{Tag: "v1", Artifact: img}}, PushOptions{}); err != nil {
		t.Fatalf("push through a lost upload session: %v", err)
	}
	if n := proxy.Count(http.MethodPost, "/blobs/uploads/"); n != 3 {
		t.Errorf("%d upload sessions for 2 blobs, one lost: want 3", n)
	}
}
