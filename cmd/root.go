// Package cmd holds ctl's cobra commands: one file per command, each parsing
// flags into an options struct and calling one function of pkg/.
package cmd

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/spf13/cobra"
)

// Version is ctl's version, set at build time with
// -ldflags "-X github.com/ctl-dev/ctl/cmd.Version=...".
var Version = "dev"

// GlobalOptions are the flags every command shares, parsed once by the root.
type GlobalOptions struct {
	Store      string   // --store: the local image store
	Config     string   // --config: docker's config directory
	Insecure   []string // --insecure-registry HOST[:PORT]
	CAFiles    []string // --ca-file PEM
	Mirrors    []string // --registry-mirror [REGISTRY=]MIRROR
	NoMirror   bool     // --no-mirror: reads go to the registries themselves
	Verbose    bool     // -v: log requests (secrets redacted) to stderr
	NoProgress bool     // set by commands whose -q asks for results only
}

// Factory carries what commands need from their surroundings: the streams,
// the global options, and lazily built clients for the store and registries.
type Factory struct {
	IO   *IOStreams
	Opts *GlobalOptions

	configWarned sync.Once // the config file's unknown keys are told once
}

// NewRootCmd builds a fresh command tree; nothing is shared between trees, so
// tests may run many in parallel.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "ctl",
		Short: "A daemonless client for container registries",
		Long: `ctl tags, pushes, pulls, lists, inspects, copies and deletes container
images on any registry that speaks the OCI distribution API, with no Docker
engine: images live in a local store on disk, credentials come from docker's
own config.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       Version,
	}
	root.SetVersionTemplate("ctl version {{.Version}}\n")
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return helpHinted(c, usageError{err}) })

	pf := root.PersistentFlags()
	pf.StringVar(&f.Opts.Store, "store", "", "local image store directory (default $CTL_STORE, else $XDG_DATA_HOME/ctl, else ~/.local/share/ctl)")
	pf.StringVar(&f.Opts.Config, "config", "", "docker config directory (default $DOCKER_CONFIG, else ~/.docker)")
	pf.StringArrayVar(&f.Opts.Insecure, "insecure-registry", nil, "registry HOST[:PORT] (or CIDR) to reach without verifying its certificate, or over plain HTTP (repeatable)")
	pf.StringArrayVar(&f.Opts.CAFiles, "ca-file", nil, "PEM file of extra certificate authorities to trust (repeatable)")
	pf.StringArrayVar(&f.Opts.Mirrors, "registry-mirror", nil, "mirror to read Docker Hub from (MIRROR), or another registry from (REGISTRY=MIRROR); MIRROR is HOST[:PORT][/PATH] (repeatable, tried in order)")
	pf.BoolVar(&f.Opts.NoMirror, "no-mirror", false, "read from the registries themselves, ignoring every mirror")
	pf.BoolVarP(&f.Opts.Verbose, "verbose", "v", false, "log registry requests to stderr, secrets redacted")

	root.AddCommand(
		newVersionCmd(f),
		newRefCmd(f, nil),
		newLoginCmd(f, nil),
		newLogoutCmd(f, nil),
		newTagsCmd(f),
		newCatalogCmd(f, nil),
		newDigestCmd(f, nil),
		newManifestCmd(f),
		newIndexCmd(f),
		newInspectCmd(f, nil),
		newReferrersCmd(f, nil),
		newDeleteCmd(f, nil),
		newImagesCmd(f, nil),
		newImageCmd(f),
		newLoadCmd(f, nil),
		newRmiCmd(f, nil),
		newSaveCmd(f, nil),
		newTagCmd(f, nil),
		newCopyCmd(f, nil),
		newSyncCmd(f, nil),
		newPullCmd(f, nil),
		newPushCmd(f, nil),
		newCheckCmd(f),
		newPinCmd(f, nil),
	)
	return root
}

// Main runs ctl with args and returns the process exit code; main.go is a
// thin wrapper around it so tests can run whole invocations in-process.
func Main(ctx context.Context, io *IOStreams, args []string) int {
	if !io.StdinTTY {
		// A command blocked reading an idle pipe still ends when ctx is
		// cancelled (a terminal is read by prompts that need its file).
		in := *io
		in.In = bounded.ReaderContext(ctx, io.In)
		io = &in
	}
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	root := NewRootCmd(f)
	root.SetArgs(args)
	// cobra adds "completion" only when it executes; adding it now lets
	// markUsage treat it as the group it is ("ctl completion tcsh" is an
	// unknown command, exit 2, not a help page with exit 0).
	root.InitDefaultCompletionCmd()
	checkBashCompletion(root)
	markUsage(root)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil {
		// Interrupted (ctx is cancelled by SIGINT or SIGTERM only): one
		// line saying what was left undone, not the error it caused.
		fmt.Fprintln(io.ErrOut, interruptedMessage(c))
		return ExitInterrupted
	}
	code, hint := exitCode(err)
	// One "Error:" per line: rmi and check report every failure, one per
	// line (as docker rmi does), and no server text can pass for output.
	for _, line := range messageLines(errorText(err)) {
		fmt.Fprintf(io.ErrOut, "Error: %s\n", line)
	}
	if hint != "" {
		fmt.Fprintln(io.ErrOut, hint)
	}
	return code
}

// markUsage makes every error that cobra returns before a command's RunE
// starts (unknown command, bad arguments, missing flags) a usage error, so
// that exit code 2 does not depend on each command remembering it.
func markUsage(c *cobra.Command) {
	if c.HasSubCommands() && c.RunE == nil && c.Run == nil {
		// A group such as "ctl tags": an unknown subcommand is a usage
		// error. A group cobra made has Args already, but cobra shows the
		// help of a command that cannot run before it checks them.
		c.Args = func(c *cobra.Command, a []string) error {
			if len(a) > 0 {
				return unknownCommand(c, a[0])
			}
			return nil
		}
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	} else if c.Args != nil {
		args := c.Args
		c.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return helpHinted(c, usageError{err})
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsage(sub)
	}
}

// helpHinted adds to a usage error found before c runs (a bad flag, a
// wrong number of arguments) c's usage line and where its help is, as
// docker does ("See 'docker push --help'.").
func helpHinted(c *cobra.Command, err error) error {
	return hinted{err, fmt.Sprintf("Usage: %s\nSee '%s --help'.", c.UseLine(), c.CommandPath())}
}

// argOfAnnotation names, on a group, the subcommand that a word which is
// not one of its commands most likely belongs to: `ctl tags nginx` is
// `ctl tags list nginx`.
const argOfAnnotation = "ctl/arg-of"

// dockerOnly are docker's commands that ctl does otherwise, by their path
// under the root ("run", "image build"), with what to do instead: those
// that need a container engine, which ctl is not, and docker manifest's
// own push (cobra's suggestions for them are unrelated: run -> rmi).
var dockerOnly = func() map[string]string {
	const run = "ctl moves images between registries, archives and its store; it does not run containers.\n" +
		"To run an image with an engine: ctl pull --to-engine IMAGE, then docker run IMAGE."
	const build = "ctl does not build images. Build with docker, podman or buildah, then share the result:\n" +
		"ctl push --from-engine IMAGE, or ctl load -i ARCHIVE and ctl push IMAGE."
	m := map[string]string{"build": build, "buildx": build, "builder": build, "image build": build,
		"manifest push":     "run: ctl push LIST (it sends the images of a list made by ctl manifest create, then the list)",
		"manifest annotate": "run: ctl index add LIST SOURCE (a platform is read from each image's config)",
		"manifest rm":       "run: ctl rmi LIST"}
	for _, w := range []string{"run", "ps", "exec", "start", "stop", "restart", "kill", "create", "attach",
		"logs", "top", "stats", "wait", "pause", "unpause", "container", "compose", "commit", "cp"} {
		m[w] = run
	}
	return m
}()

// unknownCommand is the usage error for a word that names no subcommand of
// the group c, with cobra's "did you mean" suggestion as the hint, or the
// command line that the group's argOfAnnotation suggests.
func unknownCommand(c *cobra.Command, word string) error {
	err := usageError{fmt.Errorf("unknown command %q for %q", word, c.CommandPath())}
	if hint, ok := dockerOnly[strings.TrimPrefix(c.CommandPath()+" "+word, c.Root().Name()+" ")]; ok {
		return hinted{err, hint}
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own path
	}
	if s := c.SuggestionsFor(word); len(s) > 0 {
		return hinted{err, "Did you mean " + strings.Join(s, " or ") + "?"}
	}
	if sub := c.Annotations[argOfAnnotation]; sub != "" {
		return hinted{err, fmt.Sprintf("run: %s %s %s", c.CommandPath(), sub, word)}
	}
	return err
}
