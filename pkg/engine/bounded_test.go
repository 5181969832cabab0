package engine

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
)

// endlessEngine answers /_ping as an engine does, and every other request
// with a JSON array that never ends. It returns its DOCKER_HOST and the
// count of requests other than pings.
func endlessEngine(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "e.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	item := []byte(`{"Id":"sha256:` + strings.Repeat("a", 64) + `","RepoTags":["x:1"]},`)
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			_, _ = io.WriteString(w, "OK")
			return
		}
		n.Add(1)
		_, _ = io.WriteString(w, "[")
		for r.Context().Err() == nil {
			if _, err := w.Write(item); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "unix://" + sock, &n
}

// TestEngineEndlessAnswer: an engine whose answer never ends is given up
// on at maxReply, not read into memory without end.
func TestEngineEndlessAnswer(t *testing.T) {
	t.Parallel()
	host, _ := endlessEngine(t)
	c, err := Open(t.Context(), hostEnv(host))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.List(t.Context(), false); !errors.Is(err, ErrEngine) || !strings.Contains(err.Error(), "longer than 32 MiB") {
		t.Errorf("List: %v", err)
	}
	if _, err := c.Inspect(t.Context(), "example.test/app:v1"); !errors.Is(err, ErrEngine) || !strings.Contains(err.Error(), "longer than 32 MiB") {
		t.Errorf("Inspect: %v", err)
	}
}

// TestEngineNames: a name that is neither a reference nor an ID is refused
// before anything is asked of the engine (it goes into the request path).
func TestEngineNames(t *testing.T) {
	t.Parallel()
	host, n := endlessEngine(t)
	c, err := Open(t.Context(), hostEnv(host))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"../../containers/x", "a?b", "a b", "app#1", ""} {
		if _, err := c.Inspect(t.Context(), name); !errors.Is(err, reference.ErrInvalid) {
			t.Errorf("Inspect(%q): %v, want an invalid reference", name, err)
		}
	}
	if got := n.Load(); got != 0 {
		t.Errorf("the engine was asked %d times", got)
	}
}
