package cmd

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

type versionInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func newVersionCmd(f *Factory) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:               "version",
		Short:             "Print ctl's version",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			p, err := newPrinter(format)
			if err != nil {
				return err
			}
			v := versionInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			return p.Print(f.IO.Out, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "ctl version %s (%s %s)\n", v.Version, v.Go, v.Platform)
				return err
			})
		},
	}
	c.Flags().StringVar(&format, "format", "", formatFlagHelp("Version"))
	return c
}
