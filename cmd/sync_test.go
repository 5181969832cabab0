package cmd

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/syncplan"
)

func TestNewCmdSync(t *testing.T) {
	t.Parallel()
	parseTable(t, newSyncCmd, func(o *syncOptions) syncOptions {
		return syncOptions{Args: o.Args, Filters: o.Filters, Jobs: o.Jobs, PerHost: o.PerHost, KeepGoing: o.KeepGoing,
			DryRun: o.DryRun, Check: o.Check, Format: o.Format, Quiet: o.Quiet}
	}, []parseCase[syncOptions]{
		{[]string{"plan.yaml"}, &syncOptions{Args: []string{"plan.yaml"}, Filters: syncplan.Filters{Moving: true}, Jobs: 4, Format: "text"}},
		{[]string{"a/b", "c/d", "--tags", "v*", "--exclude", "*rc*", "--semver", ">=1", "--newest", "3", "--moving=false", "--referrers", "-j", "2", "--keep-going"},
			&syncOptions{Args: []string{"a/b", "c/d"}, Filters: syncplan.Filters{Tags: []string{"v*"}, Exclude: []string{"*rc*"}, Semver: ">=1", Newest: 3, Referrers: true},
				Jobs: 2, KeepGoing: true, Format: "text"}},
		{[]string{}, nil},
		{[]string{"a", "b", "c"}, nil},
	})
	usageErrors(t,
		[]string{"sync", "-j", "0", "reg.example/a", "reg.example/b"},
		[]string{"sync", "--format", "yaml", "reg.example/a", "reg.example/b"},
		[]string{"sync", "--dry-run", "--check", "reg.example/a", "reg.example/b"},
		[]string{"sync", "--tags", "v*", "plan.yaml"},
		[]string{"sync", "--semver", "banana", "reg.example/a", "reg.example/b"},
		[]string{"sync", "reg.example/a", "reg.example/b", "--regex", "("},
	)
}

// TestSyncOneArgument: one argument that is no file is said to be either
// a missing plan or a source without its destination (exit 2).
func TestSyncOneArgument(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ arg, want string }{
		{"docker.io/library/alpine", "docker.io/library/alpine is no plan file; as a source repository it needs a destination: ctl sync SRC_REPO DST_REPO"},
		{"alpine", "alpine is no plan file; as a source repository it needs a destination"},
		{"mirror.yaml", "no plan file mirror.yaml: ctl sync takes a PLAN.yaml or SRC_REPO DST_REPO"},
		{dir + "/plan.yml", "no plan file " + dir + "/plan.yml: ctl sync takes a PLAN.yaml or SRC_REPO DST_REPO"},
	} {
		_, err := syncPlan(&syncOptions{Args: []string{tc.arg}, Filters: syncplan.Filters{Moving: true}})
		if code, _ := exitCode(err); err == nil || !strings.HasPrefix(err.Error(), tc.want) || code != exitUsage {
			t.Errorf("sync %s: %v (exit %d), want exit 2 and %q", tc.arg, err, code, tc.want)
		}
	}
}
