package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestMultipathIndexes runs the commands that walk an index against trees
// with few manifests and a number of paths past counting: one image listed
// 1,000 times by an index listed 1,000 times by one listed 1,000 times
// (10^9 paths), and a diamond chain 30 deep (2^29). Each manifest is one
// piece of content: every command ends, and every size is the image's, as
// for the image tagged alone.
func TestMultipathIndexes(t *testing.T) {
	t.Parallel()
	for kind, push := range map[string]func(testing.TB, name.Reference, ...remote.Option) testenv.Multipath{
		"repeated": func(t testing.TB, r name.Reference, o ...remote.Option) testenv.Multipath {
			return testenv.PushRepeatedIndex(t, r, 3, 1000, o...)
		},
		"diamond": func(t testing.TB, r name.Reference, o ...remote.Option) testenv.Multipath {
			return testenv.PushDiamondIndex(t, r, 30, o...)
		},
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
			mp := push(t, reg.ParseRef(t, "nested/app:1"), reg.RemoteOptions()...)
			if err := remote.Write(reg.ParseRef(t, "nested/app:plain"), mp.Image, reg.RemoteOptions()...); err != nil {
				t.Fatal(err)
			}
			e := testenv.NewEnv(t)
			ref, repo := reg.Ref("nested/app:1"), reg.Ref("nested/app")
			run := func(args ...string) string {
				t.Helper()
				res := e.Run(t, args...)
				wantCode(t, res, 0)
				return res.Stdout
			}
			// The tree's size is its image's, as the image's own tag shows.
			sameSize := func(table string) {
				t.Helper()
				sizes := map[string]bool{}
				for _, line := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
					f := strings.Fields(line)
					sizes[f[len(f)-1]] = true
				}
				if len(sizes) != 1 {
					t.Errorf("the tree and its image have sizes %v:\n%s", sizes, table)
				}
			}
			sameSize(run("tags", "list", "--long", "--format", "table {{.Tag}}\t{{.Size}}", repo))
			run("referrers", "--platforms", ref)
			run("copy", ref, reg.Ref("copied/app:1"))
			run("sync", repo, reg.Ref("synced/app"))
			usb := "oci:" + filepath.Join(t.TempDir(), "usb")
			run("sync", repo, reg.Ref("gapped/app"), "--to", usb)
			run("sync", "--from", usb, repo, reg.Ref("gapped/app"))
			for _, r := range []string{"copied/app:1", "synced/app:1", "gapped/app:1"} {
				if got := strings.TrimSpace(run("digest", reg.Ref(r))); got != mp.Top.String() {
					t.Errorf("%s is %s, want %s", r, got, mp.Top)
				}
			}
			run("pull", "--platform", "all", ref)
			run("pull", reg.Ref("nested/app:plain"))
			sameSize(run("images", "--format", "table {{.Tag}}\t{{.Size}}"))
			run("tag", ref, reg.Ref("pushed/app:1"))
			run("push", reg.Ref("pushed/app:1"))
			run("delete", "--dry-run", reg.Ref("nested/app:plain"))
			run("rmi", ref)
			run("image", "prune", "-a", "--force")
		})
	}
}
