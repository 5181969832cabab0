package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tagMany pushes a small image to repo:seed and tags it n more times
// (t0000...); it returns every tag sorted as distribution lists them.
func tagMany(t testing.TB, reg *testenv.Registry, repo string, n int) []string {
	t.Helper()
	reg.PushRandomImage(t, repo+":seed", 1, 64)
	desc, err := remote.Get(reg.ParseRef(t, repo+":seed"), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%04d", i)
	}
	testenv.ForEach(t, tags, func(tag string) error {
		return remote.Tag(reg.ParseRef(t, repo+":"+tag).(name.Tag), desc, reg.RemoteOptions()...)
	})
	all := append([]string{"seed"}, tags...)
	sort.Strings(all)
	return all
}

// pushIndex pushes a two-platform index of the given media type to ref and
// returns it.
func pushIndex(t testing.TB, reg *testenv.Registry, ref string, mt types.MediaType) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, mt)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if mt == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(reg.ParseRef(t, ref), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	return idx
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func wantCode(t testing.TB, r testenv.Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.Code, code, r.Stdout, r.Stderr)
	}
}

func TestTagsListPagesFiltersFormats(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	all := tagMany(t, reg, "many", 2500)
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	repo := proxy.Host + "/many"

	r := e.Run(t, "tags", "list", repo)
	wantCode(t, r, 0)
	if got := lines(r.Stdout); strings.Join(got, ",") != strings.Join(all, ",") {
		t.Fatalf("tags list: %d tags, want %d", len(got), len(all))
	}
	if n := proxy.Count("GET", `/tags/list`); n != 1 {
		t.Errorf("default listing took %d tag requests, want 1", n)
	}

	proxy.Reset()
	r = e.Run(t, "tags", "ls", "--page-size", "1000", repo)
	wantCode(t, r, 0)
	if got := lines(r.Stdout); len(got) != len(all) || got[len(got)-1] != all[len(all)-1] {
		t.Fatalf("paged tags list: %d tags, want %d", len(got), len(all))
	}
	if n := proxy.Count("GET", `/tags/list`); n != 3 {
		t.Errorf("paged listing took %d tag requests, want 3", n)
	}

	r = e.Run(t, "tags", "ls", "--filter", "t24?9", repo)
	wantCode(t, r, 0)
	if got := strings.Join(lines(r.Stdout), ","); got != "t2409,t2419,t2429,t2439,t2449,t2459,t2469,t2479,t2489,t2499" {
		t.Errorf("filtered: %q", got)
	}

	r = e.Run(t, "tags", "ls", "--format", "json", "--filter", "s*", repo)
	wantCode(t, r, 0)
	var js []string
	if err := json.Unmarshal([]byte(r.Stdout), &js); err != nil || len(js) != 1 || js[0] != "seed" {
		t.Errorf("json: %q (%v)", r.Stdout, err)
	}

	r = e.Run(t, "tags", "ls", "--format", "{{.Repository}}={{.Tag}}", "--filter", "seed", repo)
	wantCode(t, r, 0)
	if r.Stdout != repo+"=seed\n" {
		t.Errorf("template: %q", r.Stdout)
	}

	wantCode(t, e.Run(t, "tags", "ls", "--filter", "[", repo), 2)
	wantCode(t, e.Run(t, "tags", "ls", reg.Host+"/nothing-here"), 3)
	wantCode(t, e.Run(t, "tags", "ls", reg.Host+"/Upper"), 2)
}

func TestCatalogPages(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	repos := make([]string, 300)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/app%03d", i)
	}
	testenv.ForEach(t, repos, func(repo string) error {
		return remote.Write(reg.ParseRef(t, repo+":v1"), img, reg.RemoteOptions()...)
	})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)

	r := e.Run(t, "catalog", proxy.Host)
	wantCode(t, r, 0)
	if got := lines(r.Stdout); strings.Join(got, ",") != strings.Join(repos, ",") {
		t.Fatalf("catalog: %d repositories, want %d", len(got), len(repos))
	}
	if n := proxy.Count("GET", `/_catalog`); n != 1 {
		t.Errorf("catalog took %d requests, want 1", n)
	}
	proxy.Reset()
	r = e.Run(t, "catalog", "--page-size", "100", "--filter", "team/app29?", proxy.Host)
	wantCode(t, r, 0)
	if got := len(lines(r.Stdout)); got != 10 {
		t.Errorf("filtered catalog: %d lines: %s", got, r.Stdout)
	}
	if n := proxy.Count("GET", `/_catalog`); n != 3 {
		t.Errorf("paged catalog took %d requests, want 3", n)
	}
	r = e.Run(t, "catalog", "--format", "json", "--filter", "team/app000", reg.Host)
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != `["team/app000"]` {
		t.Errorf("json catalog: %q", r.Stdout)
	}
}
