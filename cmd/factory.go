package cmd

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/docker/cli/cli/config"
)

// lowRateLimit is the number of Docker Hub pulls left below which ctl warns.
const lowRateLimit = 10

// dockerConfigDir is the docker config directory: --config, else
// $DOCKER_CONFIG, else ~/.docker.
func (f *Factory) dockerConfigDir() string {
	if f.Opts.Config != "" {
		return f.Opts.Config
	}
	return config.Dir()
}

// Registry returns a registry client configured from the global options and
// ctl's config file: trust (--ca-file, certs.d), insecure registries,
// mirrors, -v logging to stderr, and a warning when Docker Hub's pull limit
// runs low.
func (f *Factory) Registry() (*registry.Client, error) { return f.RegistryWatchingLimits(nil) }

// RegistryWatchingLimits is Registry with onLimit (if set) told of every
// rate-limit report too (sync holds back pulls by them).
func (f *Factory) RegistryWatchingLimits(onLimit func(transport.RateLimit)) (*registry.Client, error) {
	cfg, path, err := f.config()
	if err != nil {
		return nil, err
	}
	mirrors, err := f.mirrors(cfg, path)
	if err != nil {
		return nil, err
	}
	opts := []registry.Option{
		registry.WithMirrors(mirrors),
		registry.WithSourceFunc(f.sourceReport),
		registry.WithKeychain(auth.NewKeychain(f.Opts.Config)),
		registry.WithInsecure(cfg.InsecureRegistries...),
		registry.WithInsecure(f.Opts.Insecure...),
		registry.WithCAFiles(f.Opts.CAFiles...),
		registry.WithCertsDirs(transport.DefaultCertsDir, filepath.Join(f.dockerConfigDir(), "certs.d")),
		registry.WithUserAgent("ctl/" + Version),
		registry.WithHostCache(cacheDir("hosts")),
		registry.WithRateLimitFunc(f.rateLimitWarning(onLimit)),
	}
	if f.Opts.Verbose {
		opts = append(opts, registry.WithLog(f.IO.ErrOut))
	}
	c, err := registry.New(opts...)
	if err != nil {
		return nil, invalidInput(err)
	}
	return c, nil
}

// rateLimitWarning warns once per run on stderr when Docker Hub says few
// pulls are left, and passes every report on to onLimit if set.
func (f *Factory) rateLimitWarning(onLimit func(transport.RateLimit)) func(transport.RateLimit) {
	var once sync.Once
	return func(l transport.RateLimit) {
		if onLimit != nil {
			onLimit(l)
		}
		if l.Remaining > lowRateLimit {
			return
		}
		once.Do(func() {
			msg := fmt.Sprintf("Warning: %s rate limit: %d pulls left", l.Host, l.Remaining)
			if l.Limit > 0 {
				msg += fmt.Sprintf(" of %d", l.Limit)
			}
			if l.Window > 0 {
				msg += fmt.Sprintf(" per %s", l.Window)
			}
			fmt.Fprintln(f.IO.ErrOut, msg)
		})
	}
}
