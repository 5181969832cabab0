package cmd

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ctl-dev/ctl/pkg/registry"
)

// mirrors assembles the mirrors reads go to: --registry-mirror first (in
// the order given), then ctl's config file (registry-mirrors for Docker
// Hub, as daemon.json has it, then mirrors per registry); none with
// --no-mirror. A malformed entry is invalid input naming where it is.
func (f *Factory) mirrors(cfg fileConfig, path string) (registry.Mirrors, error) {
	ms := registry.Mirrors{}
	if f.Opts.NoMirror {
		return ms, nil
	}
	for _, s := range f.Opts.Mirrors {
		reg, mirror := "docker.io", s
		if r, m, ok := strings.Cut(s, "="); ok {
			reg, mirror = r, m
		}
		if err := addMirrors(ms, reg, []string{mirror}); err != nil {
			return nil, invalidInput(fmt.Errorf("--registry-mirror %q: %w (want MIRROR for Docker Hub or REGISTRY=MIRROR)", s, err))
		}
	}
	if err := addMirrors(ms, "docker.io", cfg.RegistryMirrors); err != nil {
		return nil, invalidInput(fmt.Errorf("registry-mirrors in %s: %w", path, err))
	}
	regs := make([]string, 0, len(cfg.Mirrors))
	for reg := range cfg.Mirrors {
		regs = append(regs, reg)
	}
	sort.Strings(regs) // the first error is the same from run to run
	for _, reg := range regs {
		if err := addMirrors(ms, reg, cfg.Mirrors[reg]); err != nil {
			return nil, invalidInput(fmt.Errorf("mirrors[%q] in %s: %w", reg, path, err))
		}
	}
	return ms, nil
}

// Mirrors returns the mirrors of the global options and ctl's config file
// (for commands that explain references without reaching a registry).
func (f *Factory) Mirrors() (registry.Mirrors, error) {
	cfg, path, err := f.config()
	if err != nil {
		return nil, err
	}
	return f.mirrors(cfg, path)
}

// addMirrors parses the mirrors of reg and adds them to ms.
func addMirrors(ms registry.Mirrors, reg string, mirrors []string) error {
	if len(mirrors) == 0 {
		return nil
	}
	r, err := registry.MirroredRegistry(reg)
	if err != nil {
		return err
	}
	for _, s := range mirrors {
		m, err := registry.ParseMirror(s)
		if err != nil {
			return err
		}
		ms.Add(r, m)
	}
	return nil
}

// sourceReport says where reads of references with mirrors went: a mirror
// skipped for an error other than not found is a warning; with -v, every
// mirror skipped and the source that answered.
func (f *Factory) sourceReport(e registry.SourceEvent) {
	switch {
	case e.Err == nil && f.Opts.Verbose:
		where := "upstream " + e.Source.Host
		if e.Source.IsMirror() {
			where = "mirror " + e.Source.Mirror
		}
		fmt.Fprintf(f.IO.ErrOut, "Reading %s from %s (%s)\n", e.Ref, where, e.Source)
	case e.Err == nil:
	case errors.Is(e.Err, registry.ErrNotFound):
		if f.Opts.Verbose {
			fmt.Fprintf(f.IO.ErrOut, "Mirror %s does not have %s: %s\n", e.Source.Mirror, e.Ref, escapeControl(e.Err.Error()))
		}
	default:
		fmt.Fprintf(f.IO.ErrOut, "Warning: mirror %s skipped for %s: %s\n", e.Source.Mirror, e.Ref, escapeControl(e.Err.Error()))
	}
}
