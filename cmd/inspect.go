package cmd

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

func newInspectCmd(f *Factory, runF func(*remoteRefOptions) error) *cobra.Command {
	return remoteRefCmd(f, &cobra.Command{
		Use:   "inspect REF",
		Short: "Summarise an image or artifact in a registry (or the store): manifest, platforms, layers, config",
		Long: `Summarise the manifest REF names. For an index: its media type, digest
and the platforms it holds. For an image: media type, digest, config media
type, platform, layers with their sizes, total size, creation time, labels,
entrypoint, command and environment. An artifact (a signature, an SBOM: a manifest with an
artifactType or a config that is not an image config) shows its artifact
type and its layers; a manifest that refers to another shows that subject's
digest. --platform follows an index to one platform's image. --format json
prints one JSON object; a Go template sees the fields .Name .MediaType
.Digest .ArtifactType .Subject .ConfigMediaType .Manifests .Platform .Layers
.TotalSize .Created .Labels .Entrypoint .Cmd .Env, and .Source ("mirror" or
"upstream") with .Mirror, the mirror that answered (-v says it on stderr).

A REF written without a registry that names a local image (made in the
store by load, tag or index create, never pulled or pushed: image-gallery
after "ctl load", app:v1 after "ctl index create") is read from the store,
as docker inspect reads local images, with .Source "local" (stderr says
so); write the registry (docker.io/library/image-gallery) to inspect the
registry's copy. "ctl image inspect" shows local images as
docker image inspect does.`,
		Example: `  ctl inspect localhost:5000/gallery/ui:v1
  ctl inspect --platform linux/arm64 --format json nginx:1.25
  ctl inspect --format '{{.Created}}' localhost:5000/app`,
	}, "Digest", runF, runInspect)
}

func runInspect(ctx context.Context, opts *remoteRefOptions) error {
	p, r, platform, rc, err := opts.target()
	if err != nil {
		return err
	}
	in, err := inspection(ctx, opts, r, platform, rc)
	if err != nil {
		return err
	}
	return p.Print(opts.IO.Out, in, func(w io.Writer) error { return printInspection(w, in) })
}

// inspection summarises what r names, in the local store or on its
// registry (remoteRefOptions.local).
func inspection(ctx context.Context, opts *remoteRefOptions, r reference.Reference, platform *v1.Platform, rc *registry.Client) (*registry.Inspection, error) {
	s, e, ok := opts.local(r)
	if !ok {
		in, err := rc.Inspect(ctx, r, platform)
		return in, opts.notPushed(err)
	}
	raw, d, err := s.Manifest(e, platform)
	if err != nil {
		return nil, err
	}
	in, err := registry.Summarise(&registry.Manifest{Bytes: raw, MediaType: d.MediaType, Digest: d.Digest}, opts.Ref, s.ConfigFile)
	if err != nil {
		return nil, err
	}
	in.Name, in.Source = r.Canonical(), sourceLocal
	return in, nil
}

func printInspection(w io.Writer, in *registry.Inspection) error {
	row := func(k, v string) { fmt.Fprintf(w, "%-12s%s\n", k+":", escapeControl(v)) }
	// list prints indented, aligned rows under a key, each cell escaped
	// (an index's platforms are the registry's text).
	list := func(rows [][]string) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range rows {
			for i := range r {
				r[i] = escapeControl(r[i])
			}
			fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
		}
		return tw.Flush()
	}
	row("Name", in.Name)
	row("MediaType", in.MediaType)
	row("Digest", in.Digest)
	if in.ArtifactType != "" {
		row("Artifact", in.ArtifactType) // never called an image
	}
	if in.Subject != "" {
		row("Subject", in.Subject)
	}
	if in.ConfigMediaType != "" {
		row("Config", in.ConfigMediaType)
	}
	if len(in.Manifests) > 0 {
		row("Manifests", fmt.Sprint(len(in.Manifests)))
		rows := make([][]string, 0, len(in.Manifests))
		for _, m := range in.Manifests {
			rows = append(rows, []string{orDash(m.Platform), m.Digest, humanSize(m.Size)})
		}
		return list(rows)
	}
	if in.Platform != "" {
		row("Platform", in.Platform)
	}
	if in.Created != "" {
		row("Created", in.Created)
	}
	row("Size", fmt.Sprintf("%s (%d bytes)", humanSize(in.TotalSize), in.TotalSize))
	row("Layers", fmt.Sprint(len(in.Layers)))
	rows := make([][]string, 0, len(in.Layers))
	for _, l := range in.Layers {
		rows = append(rows, []string{l.Digest, humanSize(l.Size)})
	}
	if err := list(rows); err != nil {
		return err
	}
	if len(in.Entrypoint) > 0 {
		row("Entrypoint", strings.Join(in.Entrypoint, " "))
	}
	if len(in.Cmd) > 0 {
		row("Cmd", strings.Join(in.Cmd, " "))
	}
	if len(in.Env) > 0 {
		row("Env", fmt.Sprint(len(in.Env)))
		for _, kv := range in.Env {
			fmt.Fprintf(w, "  %s\n", escapeControl(kv))
		}
	}
	if len(in.Labels) > 0 {
		row("Labels", fmt.Sprint(len(in.Labels)))
		keys := make([]string, 0, len(in.Labels))
		for k := range in.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s=%s\n", escapeControl(k), escapeControl(in.Labels[k]))
		}
	}
	return nil
}
