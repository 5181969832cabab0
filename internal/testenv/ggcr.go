package testenv

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// RemoteOptions returns go-containerregistry options for talking to the
// registry directly: its Transport and, for HTPasswd and Token registries,
// the credentials of User.
func (r *Registry) RemoteOptions() []remote.Option {
	opts := []remote.Option{remote.WithTransport(r.Transport())}
	if r.Options.HTPasswd || r.Options.Token {
		u, p := r.User()
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: u, Password: p}))
	}
	return opts
}

// ParseRef parses a reference to repo (with ":tag" or "@digest") on this
// registry.
func (r *Registry) ParseRef(t testing.TB, repo string) name.Reference {
	t.Helper()
	opts := []name.Option{name.StrictValidation}
	if !r.Options.TLS {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(r.Ref(repo), opts...)
	if err != nil {
		t.Fatalf("testenv: parsing %q: %v", r.Ref(repo), err)
	}
	return ref
}

// PushRandomImage pushes a random image with the given number of layers of
// layerSize bytes each to repo (e.g. "foo/bar:tag") and returns it.
func (r *Registry) PushRandomImage(t testing.TB, repo string, layers int, layerSize int64) v1.Image {
	t.Helper()
	img, err := random.Image(layerSize, int64(layers))
	if err != nil {
		t.Fatalf("testenv: random image: %v", err)
	}
	ref := r.ParseRef(t, repo)
	if err := remote.Write(ref, img, r.RemoteOptions()...); err != nil {
		t.Fatalf("testenv: pushing %s: %v", ref, err)
	}
	return img
}

// ForEach runs f on every item, 16 at a time (seeding a registry with
// many tags or repositories), and fails tb with an error f returned.
func ForEach(tb testing.TB, items []string, f func(string) error) {
	tb.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, it := range items {
		g.Go(func() error { return f(it) })
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}
