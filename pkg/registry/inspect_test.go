package registry

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestInspectRefusesNonImage: a manifest that is neither an image nor an
// index (a registry answering "{}" to everything) is refused by name, as
// pull refuses it, and its missing config is never asked for.
func TestInspectRefusesNonImage(t *testing.T) {
	t.Parallel()
	var blobs atomic.Int32
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") {
			blobs.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	})
	_, err := newTestClient(t).Inspect(context.Background(), mustRef(t, hostOf(srv)+"/app:v1"), nil)
	if err == nil || !strings.Contains(err.Error(), `has media type "application/json", neither an image nor an index`) {
		t.Fatalf("inspect: %v, want the media type refused", err)
	}
	if n := blobs.Load(); n != 0 {
		t.Errorf("%d blob requests for a manifest without a config", n)
	}
}
