package cmd

import (
	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/ctl-dev/ctl/pkg/registry"
)

// Registry returns a registry client configured from the global options.
func (f *Factory) Registry() (*registry.Client, error) {
	return registry.New(
		registry.WithKeychain(auth.NewKeychain(f.Opts.Config)),
		registry.WithInsecure(f.Opts.Insecure...),
		registry.WithUserAgent("ctl/"+Version),
	)
}
