package bench

import (
	"fmt"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkTagsList lists a 5,000-tag repository: ctl tags list vs crane ls.
func BenchmarkTagsList(b *testing.B) {
	tg := newTarget(b, latency, func(reg *testenv.Registry) {
		reg.PushRandomImage(b, "many:seed", 1, 64)
		desc, err := remote.Get(reg.ParseRef(b, "many:seed"), reg.RemoteOptions()...)
		if err != nil {
			b.Fatal(err)
		}
		tags := make([]string, 5000)
		for i := range tags {
			tags[i] = fmt.Sprintf("t%04d", i)
		}
		testenv.ForEach(b, tags, func(t string) error {
			return remote.Tag(reg.ParseRef(b, "many:"+t).(name.Tag), desc, reg.RemoteOptions()...)
		})
	})
	repo := tg.Proxy.Host + "/many"
	tg.sameOutput(b, []string{"tags", "list", repo}, []string{"ls", repo})
}

// BenchmarkCatalog lists 300 repositories: ctl catalog vs crane catalog.
func BenchmarkCatalog(b *testing.B) {
	tg := newTarget(b, latency, func(reg *testenv.Registry) {
		img, err := random.Image(64, 1)
		if err != nil {
			b.Fatal(err)
		}
		repos := make([]string, 300)
		for i := range repos {
			repos[i] = fmt.Sprintf("team/app%03d:v1", i)
		}
		testenv.ForEach(b, repos, func(r string) error { return remote.Write(reg.ParseRef(b, r), img, reg.RemoteOptions()...) })
	})
	tg.sameOutput(b, []string{"catalog", tg.Proxy.Host}, []string{"catalog", tg.Proxy.Host})
}

// BenchmarkDigest resolves a tag: ctl digest vs crane digest.
func BenchmarkDigest(b *testing.B) {
	tg := newTarget(b, latency, func(reg *testenv.Registry) {
		reg.PushRandomImage(b, "app:v1", 1, 64)
	})
	ref := tg.Proxy.Host + "/app:v1"
	tg.sameOutput(b, []string{"digest", ref}, []string{"digest", ref})
}
