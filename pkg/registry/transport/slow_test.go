package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSlowBodiesBounded: a body that stalls or drips below the rate floor
// fails within a window; a small answer (a manifest) dripped above the
// floor, or headers that never come, fail within the total time bound,
// retries included; a layer streamed above the floor may take longer.
func TestSlowBodiesBounded(t *testing.T) {
	t.Parallel()
	const (
		window  = 500 * time.Millisecond
		maxTime = 2 * time.Second
		slack   = 2 * time.Second // scheduling on a shared machine
	)
	drip := func(ct string, size, chunk int, every time.Duration) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Content-Length", fmt.Sprint(size))
			w.WriteHeader(http.StatusOK)
			for sent := 0; sent < size; sent += chunk {
				if _, err := w.Write([]byte(strings.Repeat("x", min(chunk, size-sent)))); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(every):
				}
			}
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		bound   time.Duration // the request must end within it (plus slack)
		wantErr string        // "" for success
	}{
		{"layer dripped below the floor", drip("application/octet-stream", 1<<20, 10, 100*time.Millisecond), 2 * window, "below the floor"},
		{"layer stalled after its headers", drip("application/octet-stream", 1<<20, 1, time.Hour), 2 * window, "below the floor"},
		{"manifest dripped above the floor", drip("application/vnd.oci.image.manifest.v1+json", 4<<20-1, 100<<10, 200*time.Millisecond), maxTime, "within 2s"},
		{"headers that never come", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, maxTime, "within 2s"},
		{"layer above the floor for longer than the total bound", drip("application/octet-stream", 3<<20, 64<<10, 50*time.Millisecond), 5 * time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			rt, err := New(Options{Base: &http.Transport{}, IdleTimeout: window, MinRate: 64 << 10,
				Retry: RetryPolicy{Attempts: 3, Backoff: 10 * time.Millisecond, MaxTime: maxTime}})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v2/app/blobs/x", nil)
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			took := time.Since(start)
			if took > tc.bound+slack {
				t.Errorf("took %v, bound %v", took, tc.bound)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want ErrTimeout saying %q", err, tc.wantErr)
			}
		})
	}
}
