package cmd

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

// TestMirrorsAssembled: --registry-mirror comes first, in the order given
// (MIRROR for Docker Hub, REGISTRY=MIRROR for another), then the file's
// registry-mirrors and mirrors; repeats are dropped, Docker Hub's names are
// one; --no-mirror drops them all.
func TestMirrorsAssembled(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{Mirrors: []string{"m1:5000", "ghcr.io=c:5000/ghcr"}}}
	cfg := fileConfig{
		RegistryMirrors: []string{"https://mirror.gcr.io/", "m1:5000"},
		Mirrors:         map[string][]string{"index.docker.io": {"http://x.local:80"}, "GHCR.io": {"c:5000/ghcr", "d:5000"}},
	}
	ms, err := f.mirrors(cfg, "config.json")
	if err != nil {
		t.Fatal(err)
	}
	want := registry.Mirrors{
		"docker.io": {{Host: "m1:5000"}, {Host: "mirror.gcr.io"}, {Host: "x.local:80", PlainHTTP: true}},
		"ghcr.io":   {{Host: "c:5000", Prefix: "ghcr"}, {Host: "d:5000"}},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("mirrors = %#v\nwant %#v", ms, want)
	}
	f.Opts.NoMirror = true
	if ms, err := f.mirrors(cfg, "config.json"); err != nil || len(ms) != 0 {
		t.Errorf("--no-mirror: %v, %v", ms, err)
	}
}

func TestMirrorsRefused(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	for _, tc := range []struct {
		flags []string
		cfg   fileConfig
		want  string // in the message
	}{
		{flags: []string{"=m:5000"}, want: `--registry-mirror "=m:5000"`},
		{flags: []string{"ghcr.io=m:5000/A"}, want: `--registry-mirror "ghcr.io=m:5000/A"`},
		{cfg: fileConfig{RegistryMirrors: []string{"m 5000"}}, want: "registry-mirrors in config.json"},
		{cfg: fileConfig{Mirrors: map[string][]string{"ghcr.io": {"ok:5000", "bad?x"}}}, want: `mirrors["ghcr.io"] in config.json`},
		{cfg: fileConfig{Mirrors: map[string][]string{"nginx": {"ok:5000"}}}, want: `mirrors["nginx"] in config.json`},
	} {
		f := &Factory{IO: io, Opts: &GlobalOptions{Mirrors: tc.flags}}
		_, err := f.mirrors(tc.cfg, "config.json")
		if code, _ := exitCode(err); code != exitUsage || !errors.Is(err, registry.ErrInvalidMirror) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %+v: %v (exit %d); want exit 2 naming %s", tc.flags, tc.cfg, err, code, tc.want)
		}
	}
}
