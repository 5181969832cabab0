package cmd

import "github.com/spf13/cobra"

// newImageCmd groups the local-store commands as docker's "image"
// management command does: ls and rm are images and rmi under docker's
// other names; load, save, tag, pull and push the top-level commands, as
// docker image load|save|tag|pull|push are docker's.
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
		newPullCmd(f, nil),
		newPushCmd(f, nil),
	)
	return c
}
