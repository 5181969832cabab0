package cmd

import (
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
