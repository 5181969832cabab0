package bench

import (
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// Start-up cost: commands that touch no registry must start as fast as
// crane's smallest command, so nothing heavy may run at package init.
func BenchmarkStartup(b *testing.B) {
	tg := &target{Env: testenv.NewEnv(b)}
	b.Run("version", func(b *testing.B) {
		tg.compare(b, fixed("ctl", testenv.CtlBinary(b), "version"), fixed("crane", testenv.CraneBinary(b), "version"))
	})
	b.Run("ref", func(b *testing.B) {
		tg.compare(b, fixed("ctl", testenv.CtlBinary(b), "ref", "nginx"), fixed("crane", testenv.CraneBinary(b), "version"))
	})
}
