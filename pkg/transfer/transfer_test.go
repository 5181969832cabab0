package transfer

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// fixture is an in-process registry, a client for it and an empty store.
func fixture(t *testing.T) (string, *registry.Client, *store.Store) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	c, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(srv.URL, "http://"), c, newStore(t)
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRef(t testing.TB, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A local image pushed, then pulled into another store, arrives whole
// under its tag; the push defaults to latest and reports its start.
func TestPushThenPull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, c, s := fixture(t)
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteImage(ctx, img, mustRef(t, host+"/app:latest")); err != nil {
		t.Fatal(err)
	}
	started := 0
	results, _, err := Push(ctx, c, s, mustRef(t, host+"/app"), PushOptions{Started: func() { started++ }})
	want, _ := img.Digest()
	if err != nil || len(results) != 1 || results[0].Tag != "latest" || results[0].Digest != want || started != 1 {
		t.Fatalf("push: %+v, %v (started %d times)", results, err, started)
	}

	other := newStore(t)
	var events int
	pulled, _, err := Pull(ctx, c, other, mustRef(t, host+"/app"), PullOptions{Jobs: 1, Progress: func(registry.Event) { events++ }})
	if err != nil || len(pulled) != 1 || pulled[0].Image != want || pulled[0].UpToDate {
		t.Fatalf("pull: %+v, %v", pulled, err)
	}
	if e, err := other.Lookup(mustRef(t, host+"/app:latest")); err != nil || e.Digest != want {
		t.Errorf("pulled store: %+v, %v", e, err)
	}
	if events == 0 {
		t.Error("pull reported no progress")
	}
	// Pulling again finds it up to date.
	pulled, _, err = Pull(ctx, c, other, mustRef(t, host+"/app:latest"), PullOptions{})
	if err != nil || !pulled[0].UpToDate {
		t.Errorf("second pull: %+v, %v", pulled, err)
	}
}

// PushSemver pushes the version tag, reports it to Pushed, then writes the
// moving tags; a dry run pushes nothing.
func TestPushSemver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, c, s := fixture(t)
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteImage(ctx, img, mustRef(t, host+"/app:1.2.3")); err != nil {
		t.Fatal(err)
	}
	v, err := semver.Parse("1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	repo := mustRef(t, host+"/app")
	var steps []string
	onStep := func(st tagplan.Step, _ *registry.VersionResult) { steps = append(steps, st.Tag+" "+string(st.Action)) }

	var pushed []registry.PushResult
	err = PushSemver(ctx, c, s, repo, v, SemverOptions{DryRun: true, Pushed: func(r []registry.PushResult) error { pushed = r; return nil }, OnStep: onStep})
	if err != nil || pushed != nil || len(steps) != 4 {
		t.Fatalf("dry run: %v, pushed %v, steps %q", err, pushed, steps)
	}
	if _, _, err := c.Digest(ctx, mustRef(t, host+"/app:1.2.3"), nil); err == nil {
		t.Error("the dry run pushed the version tag")
	}

	steps = nil
	err = PushSemver(ctx, c, s, repo, v, SemverOptions{Pushed: func(r []registry.PushResult) error { pushed = r; return nil }, OnStep: onStep})
	if err != nil || len(pushed) != 1 || pushed[0].Tag != "1.2.3" {
		t.Fatalf("push: %v, pushed %+v", err, pushed)
	}
	want, _ := img.Digest()
	for _, tag := range []string{"1.2.3", "1.2", "1", "latest"} {
		if d, _, err := c.Digest(ctx, mustRef(t, host+"/app:"+tag), nil); err != nil || d != want {
			t.Errorf("%s: %+v, %v", tag, d, err)
		}
	}
}
