package cmd

import "github.com/spf13/cobra"

// newImageCmd groups the local-store commands as docker's "image"
// management command does; ls, rm, load, save and tag are the top-level
// commands under docker's other names.
func newImageCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of the local store",
	}
	ls := newImagesCmd(f, nil)
	ls.Use, ls.Aliases = "ls [REPOSITORY[:TAG]]", []string{"list"}
	rm := newRmiCmd(f, nil)
	rm.Use, rm.Aliases = "rm IMAGE...", []string{"remove"}
	c.AddCommand(
		newImagePruneCmd(f, nil),
		newImageInspectCmd(f, nil),
		ls, rm,
		newLoadCmd(f, nil),
		newSaveCmd(f, nil),
		newTagCmd(f, nil),
	)
	return c
}
