// Package e2e runs the built ctl binary against real distribution
// registries started by internal/testenv.
package e2e

import (
	"os"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
