package cmd

import (
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type tagOptions struct {
	Store   func() (*store.Store, error)
	Source  string
	Targets []string
}

func newTagCmd(f *Factory, runF func(*tagOptions) error) *cobra.Command {
	opts := &tagOptions{Store: f.Store}
	c := &cobra.Command{
		Use:   "tag SOURCE TARGET...",
		Short: "Give a local image more references",
		Long: `Give an image of the local store new references; nothing is copied.
SOURCE is a reference (familiar or full, with a tag or a digest), an image ID
or a unique prefix of one. Each TARGET is a reference with a tag (":latest"
when none is given); a digest cannot be a target.`,
		Example: `  ctl tag image-gallery user/image-gallery:v1
  ctl tag 4a1b2c3d registry.local:5000/gallery/ui:v1 registry.local:5000/gallery/ui:latest`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Source, opts.Targets = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return runTag(opts)
		},
	}
	return c
}

func runTag(opts *tagOptions) error {
	targets := make([]reference.Reference, len(opts.Targets))
	for i, t := range opts.Targets {
		r, err := reference.Parse(t)
		if err != nil {
			return err
		}
		targets[i] = r
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	src, err := s.Resolve(opts.Source)
	if err != nil {
		return err
	}
	return s.Tag(src, targets...)
}
