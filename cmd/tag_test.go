package cmd

import "testing"

func TestNewCmdTag(t *testing.T) {
	t.Parallel()
	parseTable(t, newTagCmd, func(o *tagOptions) tagOptions {
		return tagOptions{Source: o.Source, Targets: o.Targets, Semver: o.Semver, Remote: o.Remote, Format: o.Format}
	}, []parseCase[tagOptions]{
		{[]string{"src", "t1", "t2"}, &tagOptions{Source: "src", Targets: []string{"t1", "t2"}, Format: "text"}},
		{[]string{"src"}, nil},
	})
}
