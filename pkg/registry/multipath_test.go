package registry

import (
	"context"
	"slices"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// multipathFixture starts a fake registry holding at nested/app:1 the
// index tree push makes (testenv.PushRepeatedIndex or PushDiamondIndex):
// few manifests, a number of paths past counting.
func multipathFixture(t *testing.T, push func(*Client, reference.Reference) testenv.Multipath) (*fakeRegistry, *Client, reference.Reference, testenv.Multipath) {
	t.Helper()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	ref := mustRef(t, reg.host()+"/nested/app:1")
	mp := push(c, ref)
	reg.counts() // the seeding's requests do not count
	return reg, c, ref, mp
}

// repeated is 1,000 listings of one child, three deep: 10^9 paths.
func repeated(t *testing.T) func(*Client, reference.Reference) testenv.Multipath {
	return func(c *Client, ref reference.Reference) testenv.Multipath {
		nref, _ := c.Ref(ref)
		return testenv.PushRepeatedIndex(t, nref, 3, 1000)
	}
}

// diamond is 30 levels of two indexes each listing both below: 2^29 paths.
func diamond(t *testing.T) func(*Client, reference.Reference) testenv.Multipath {
	return func(c *Client, ref reference.Reference) testenv.Multipath {
		nref, _ := c.Ref(ref)
		return testenv.PushDiamondIndex(t, nref, 30)
	}
}

// TestCopyMultipath: a copy reads each manifest of the tree once, however
// many paths lead to it, and sends each once.
func TestCopyMultipath(t *testing.T) {
	t.Parallel()
	for name, push := range map[string]func(*testing.T) func(*Client, reference.Reference) testenv.Multipath{"repeated": repeated, "diamond": diamond} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg, c, ref, mp := multipathFixture(t, push(t))
			if _, err := c.Copy(context.Background(), ref, mustRef(t, reg.host()+"/copy/app:1"), CopyOptions{}); err != nil {
				t.Fatal(err)
			}
			manifests := len(mp.Indexes) + 1
			got := reg.counts()
			if got["GET manifest"] > manifests || got["PUT manifest"] > manifests {
				t.Errorf("%d manifests copied with %v", manifests, got)
			}
		})
	}
}

// TestPullUpToDateRepeated: telling that a pull of an index listing one
// image 1,000 times is up to date reads that image's manifest once.
func TestPullUpToDateRepeated(t *testing.T) {
	t.Parallel()
	reg, c, ref, _ := multipathFixture(t, func(c *Client, ref reference.Reference) testenv.Multipath {
		nref, _ := c.Ref(ref)
		return testenv.PushRepeatedIndex(t, nref, 1, 1000)
	})
	sink := newMemSink()
	ctx := context.Background()
	if _, err := c.Pull(ctx, ref, sink, PullOptions{Platforms: platform.All()}); err != nil {
		t.Fatal(err)
	}
	reg.counts()
	res, err := c.Pull(ctx, ref, sink, PullOptions{Platforms: platform.All()})
	if err != nil || !res.UpToDate {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	if got := reg.counts(); got["GET manifest"] > 2 {
		t.Errorf("up to date after %v", got)
	}
}

// TestReferrersPlatformsRepeated: the referrers of a child an index lists
// 1,000 times are looked for once, and the child is shown once.
func TestReferrersPlatformsRepeated(t *testing.T) {
	t.Parallel()
	reg, c, ref, mp := multipathFixture(t, repeated(t))
	tree, err := c.Referrers(context.Background(), ref, ReferrersOptions{Platforms: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Manifests) != 1 || tree.Manifests[0].Digest != mp.Indexes[1].String() {
		t.Errorf("children %+v, want %s once", tree.Manifests, mp.Indexes[1])
	}
	if got := reg.counts(); got["GET manifest"] > 20 {
		t.Errorf("referrers of two manifests with %v", got)
	}
}

// TestDeleteScansRepeatedIndexOnce: making sure no tagged index holds what
// is deleted reads each index once, however often it is listed: 1,000
// listings three deep are 10^6 paths, and a diamond 2^29.
func TestDeleteScansRepeatedIndexOnce(t *testing.T) {
	t.Parallel()
	for name, push := range map[string]func(*testing.T) func(*Client, reference.Reference) testenv.Multipath{"repeated": repeated, "diamond": diamond} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg, c, ref, mp := multipathFixture(t, push(t))
			free, err := random.Image(100, 1)
			if err != nil {
				t.Fatal(err)
			}
			nref, _ := c.Ref(mustRef(t, reg.host()+"/nested/app:free"))
			if err := remote.Write(nref, free); err != nil {
				t.Fatal(err)
			}
			reg.counts()
			fd, _ := free.Digest()
			if _, err := c.Delete(context.Background(), mustRef(t, ref.Name()+"@"+fd.String()), DeleteOptions{DryRun: true}); err != nil {
				t.Fatal(err)
			}
			if got := reg.counts(); got["GET manifest"] > len(mp.Indexes)+5 {
				t.Errorf("%d indexes scanned with %v", len(mp.Indexes), got)
			}
		})
	}
}

// TestTagDetailsMultipath: an index counts each image under it once:
// three levels of 1,000 listings of one image, or an image reached
// through 2^29 paths of a diamond chain of indexes, are that image's size.
func TestTagDetailsMultipath(t *testing.T) {
	t.Parallel()
	for name, fixture := range map[string]func(*testing.T) func(*Client, reference.Reference) testenv.Multipath{"repeated": repeated, "diamond": diamond} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, c, ref, mp := multipathFixture(t, fixture(t))
			want := imageSize(t, mp)
			got, err := c.TagDetails(context.Background(), ref, []string{"1"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The platforms are the image's, not unknown/unknown for
			// the child indexes naming none.
			if len(got) != 1 || got[0].Size != want || !slices.Equal(got[0].Platforms, []string{"linux/amd64"}) {
				t.Errorf("details %+v, want size %d, platform linux/amd64", got, want)
			}
		})
	}
}

// imageSize is the size of mp's image: config and layers.
func imageSize(t *testing.T, mp testenv.Multipath) int64 {
	t.Helper()
	m, err := mp.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size
}
