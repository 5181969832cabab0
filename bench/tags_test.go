package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// BenchmarkTagsListLong describes 500 tags over 100 manifests (20 of them
// two-platform indexes): ctl tags list --long against what a user of crane
// writes for the same table, crane ls then crane digest and crane config
// per tag.
func BenchmarkTagsListLong(b *testing.B) {
	tg := newTarget(b, latency, func(reg *testenv.Registry) {
		items := make([]testenv.Tagged, 100)
		for i := range items {
			it := testenv.Tagged{Created: time.Now().Add(-time.Duration(i) * time.Hour)}
			for j := range 5 {
				it.Tags = append(it.Tags, fmt.Sprintf("1.%d.%d", i, j))
			}
			if i%5 == 0 {
				it.Platforms = []string{"linux/amd64", "linux/arm64"}
			}
			items[i] = it
		}
		reg.PushTagged(b, "many", items, 256)
	})
	repo := tg.Proxy.Host + "/many"
	crane := testenv.CraneBinary(b)
	loop := fmt.Sprintf(`for t in $(%[1]s ls %[2]s); do %[1]s digest %[2]s:$t && %[1]s config %[2]s:$t || exit 1; done`, crane, repo)
	tg.compare(b, fixed("ctl", testenv.CtlBinary(b), "tags", "list", "--long", repo), fixed("crane-loop", "sh", "-c", loop))
}
