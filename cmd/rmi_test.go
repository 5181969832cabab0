package cmd

import "testing"

func TestNewCmdRmi(t *testing.T) {
	t.Parallel()
	parseTable(t, newRmiCmd, func(o *rmiOptions) rmiOptions {
		return rmiOptions{Refs: o.Refs, Force: o.Force, Format: o.Format}
	}, []parseCase[rmiOptions]{
		{[]string{"-f", "a", "b"}, &rmiOptions{Refs: []string{"a", "b"}, Force: true, Format: "text"}},
		{[]string{}, nil},
	})
}
