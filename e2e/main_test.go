package e2e

import (
	"os"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
