package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/transfer"
	"github.com/spf13/cobra"
)

type pullOptions struct {
	IO       *IOStreams
	Registry func() (*registry.Client, error)
	Store    func() (*store.Store, error)
	Engine   func(context.Context) (*engine.Client, error)
	Ref      string
	Platform string
	// ToEngine: hand what was pulled to the container engine.
	ToEngine bool
	// toEngine, when not nil, is called as the pull is done and the
	// engine's part begins.
	toEngine func()
	transferFlags
}

func newPullCmd(f *Factory, runF func(*pullOptions) error) *cobra.Command {
	opts := &pullOptions{IO: f.IO, Registry: f.Registry, Store: f.Store, Engine: f.Engine}
	c := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image, or every tag of a repository, into the local store",
		Long: `Pull an image from its registry into the local store. A multi-platform
image is resolved to one platform (default: this machine's, or --platform
OS/ARCH[/VARIANT]) and that platform's image is stored under the tag, as
docker does. --platform all keeps the whole index and every image it
lists; --platform with several platforms (linux/amd64,linux/arm64) keeps a
filtered index listing only those images (and their buildkit
attestations), whose digest differs from the registry's and is printed as
"Filtered index:"; each must be there, and a single-platform image is only
its own. Platforms are matched as docker matches them: linux/arm64,
linux/arm64/v8 and linux/aarch64 are one platform, linux/arm is
linux/arm/v7, and an index without the variant asked for gives the newest
older one it has (arm/v7 takes v6, then v5); another architecture never
stands in. The images of an index come down at once, their layers sharing
the -j bound. Every blob is checked against its digest and size before it
is kept, and blobs the store has already are not fetched again.

--referrers also stores what refers to the image (signatures, SBOMs,
attestations, recursively; of an index's children too), each by digest
(cosign's under their sha256-<hex>.sig/.att/.sbom tags), after reading the
whole tree so that a broken one fails before anything is stored.
"ctl push --referrers" sends them on with the image. The referrers stored
are told on stderr, each as a result and a count; stdout keeps the
image's result.

With --to-engine, the images pulled are then handed to the container
engine found as docker finds it (DOCKER_HOST, the current docker context,
/var/run/docker.sock), so that "docker run REF" works next; the engine's
"Loaded image" lines follow pull's own.`,
		Example: `  ctl pull nginx:1.25
  ctl pull --to-engine registry.local:5000/gallery/ui:v1
  ctl pull --platform linux/arm64/v8 registry.local:5000/gallery/ui:v1
  ctl pull --platform all registry.local:5000/gallery/ui:v1
  ctl pull --platform linux/amd64,linux/arm64 registry.local:5000/gallery/ui:v1
  ctl pull --all-tags registry.local:5000/gallery/ui`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeLocalOrRemoteRefs(f, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if !opts.AllTags {
				interruptedLeaves(c, "nothing was stored")
				// Once pulled, what an interruption leaves is the engine
				// without it (its load is all or nothing too).
				opts.toEngine = func() { interruptedLeaves(c, "the image is stored, but nothing was loaded into the engine") }
			}
			if runF != nil {
				return runF(opts)
			}
			return runPull(c.Context(), opts)
		},
	}
	fl := c.Flags()
	opts.add(fl, "pull every tag of the repository", "layers to download at once", "Digest")
	fl.StringVar(&opts.Platform, "platform", "", platformsFlagHelp)
	fl.BoolVar(&opts.ToEngine, "to-engine", false, "then load the pulled images into the container engine (DOCKER_HOST, docker context)")
	return c
}

func runPull(ctx context.Context, opts *pullOptions) error {
	ref, err := opts.parseRef(opts.Ref)
	if err != nil {
		return err
	}
	platforms, err := parsePlatforms(opts.Platform)
	if err != nil {
		return err
	}
	if opts.Referrers && opts.ToEngine {
		return usageError{fmt.Errorf("--referrers and --to-engine cannot be combined (an engine keeps no referrers)")}
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	var ec *engine.Client
	if opts.ToEngine {
		// Before pulling: no engine, no point.
		if ec, err = opts.Engine(ctx); err != nil {
			return err
		}
		defer ec.Close()
	}
	p := newProgress(opts.IO, opts.Quiet, pullWords)
	if !opts.AllTags && ref.Tag() == "" && ref.Digest() == "" {
		p.Line("Using default tag: " + ref.DefaultedTag())
	}
	results, referrers, err := transfer.Pull(ctx, c, s, ref, transfer.PullOptions{
		AllTags: opts.AllTags, Platforms: platforms, Jobs: opts.Jobs, Progress: p.Event, Referrers: opts.Referrers,
		Started: func(r reference.Reference) { p.Line(fmt.Sprintf("%s: Pulling from %s", pullTag(r), r.Repository())) },
	})
	p.Close()
	if err != nil {
		return err
	}
	for _, r := range results {
		item := pulledItem{Reference: r.Ref.String(), Digest: r.Digest.String(), Image: r.Image.String(), UpToDate: r.UpToDate, ArtifactType: r.ArtifactType,
			Source: r.Source.Kind(), Mirror: r.Source.Mirror, Platforms: r.Platforms, Filtered: r.Filtered}
		if err := out.Print(opts.IO.Out, item, func(w io.Writer) error {
			if opts.Quiet { // as docker pull -q: the reference alone
				_, err := fmt.Fprintln(w, r.Ref.String())
				return err
			}
			return printPulled(w, r)
		}); err != nil {
			return err
		}
	}
	if opts.Referrers {
		where := "stored in the local store"
		if len(referrers) == 0 {
			where = "none found"
		}
		opts.tellReferrers(opts.IO, "Pulled", len(referrers), where, func(w io.Writer, i int) error { return printPulled(w, referrers[i]) })
	}
	if ec == nil {
		return nil
	}
	// The pull is done and said; the engine's part is a step of its own.
	if opts.toEngine != nil {
		opts.toEngine()
	}
	loaded, err := transfer.ToEngine(ctx, ec, s, results)
	if err != nil {
		return err
	}
	if out.Text() {
		for _, l := range loaded {
			fmt.Fprintln(opts.IO.Out, escapeControl(l))
		}
	}
	return nil
}

// printPulled is pull's text result for r, as docker pull prints it:
// Digest, then Status (and, of an index stored, its platforms).
func printPulled(w io.Writer, r registry.PullResult) error {
	status := "Downloaded newer image for "
	switch {
	case r.ArtifactType != "" && r.UpToDate:
		status = "Artifact is up to date for "
	case r.ArtifactType != "":
		status = "Downloaded artifact for "
	case r.UpToDate:
		status = "Image is up to date for "
	}
	fmt.Fprintf(w, "Digest: %s\n", r.Digest)
	if r.Filtered {
		fmt.Fprintf(w, "Filtered index: %s\n", r.Image)
	}
	if len(r.Platforms) > 0 {
		fmt.Fprintf(w, "Platforms: %s\n", escapeControl(strings.Join(r.Platforms, ", ")))
	}
	_, err := fmt.Fprintf(w, "Status: %s%s\n", status, r.Ref.Familiar())
	return err
}

// pulledItem is what pull prints per image, as --format sees it.
type pulledItem struct {
	Reference string `json:"reference"` // canonical, e.g. docker.io/library/nginx:1.25
	Digest    string `json:"digest"`    // what the reference resolved to (an index for multi-platform)
	Image     string `json:"image"`     // the digest stored: the platform image, or the (filtered) index
	UpToDate  bool   `json:"upToDate"`  // the store had it under the reference already
	// Of an index stored (--platform all or a list): its platforms, and
	// whether it is filtered (image is then a new index, not digest).
	Platforms []string `json:"platforms,omitempty"`
	Filtered  bool     `json:"filtered,omitempty"`
	// ArtifactType is set when an artifact (a signature, an SBOM) was
	// pulled, not an image.
	ArtifactType string `json:"artifactType,omitempty"`
	// Source is "mirror" when a mirror served the pull, else "upstream";
	// Mirror is that mirror.
	Source string `json:"source"`
	Mirror string `json:"mirror,omitempty"`
}

// pullTag is what docker prints before "Pulling from": the tag, or the
// digest of a reference by digest.
func pullTag(r reference.Reference) string {
	if r.Tag() != "" {
		return r.Tag()
	}
	return r.Digest()
}
