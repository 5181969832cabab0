package cmd

import (
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/spf13/cobra"
)

type logoutOptions struct {
	IO        *IOStreams
	Server    string
	ConfigDir string
}

func newLogoutCmd(f *Factory, runF func(*logoutOptions) error) *cobra.Command {
	opts := &logoutOptions{IO: f.IO}
	c := &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Remove the credentials stored for a registry",
		Long: `Remove the credentials stored for a registry, from the credential helper or
config.json that holds them. SERVER defaults to Docker Hub.`,
		Example: `  ctl logout registry.example.com`,
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			// The registries there is a login for.
			servers, err := auth.Servers(f.Opts.Config)
			if len(args) > 0 || err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, s := range servers {
				if strings.HasPrefix(s, toComplete) {
					out = append(out, s)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			opts.ConfigDir = f.Opts.Config
			if runF != nil {
				return runF(opts)
			}
			return runLogout(opts)
		},
	}
	return c
}

func runLogout(opts *logoutOptions) error {
	found, err := auth.Logout(auth.LoginOptions{Dir: opts.ConfigDir, Server: opts.Server})
	if err != nil {
		return err
	}
	host := auth.DisplayName(opts.Server)
	if !found {
		fmt.Fprintf(opts.IO.Out, "Not logged in to %s\n", host)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Removing login credentials for %s\n", host)
	return nil
}
