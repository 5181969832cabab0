package cmd

import (
	"context"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/spf13/cobra"
)

// completionTimeout bounds the registry requests one completion may make: a
// shell waiting on a slow registry is worse than no suggestions.
const completionTimeout = 2 * time.Second

// completeRemoteRefs completes references to images in a registry: once the
// repository is typed and followed by ":", the repository's tags, listed
// live. Commands that also take local images can combine it with the
// store's completion.
func completeRemoteRefs(f *Factory) cobra.CompletionFunc {
	return func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return RemoteTagCompletions(c.Context(), f, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeRepositories completes nothing but keeps the shell from offering
// file names where a repository is expected.
func completeRepositories(*Factory) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// RemoteTagCompletions returns "REPO:TAG" for the tags of REPO that start
// with what follows the last ":" of toComplete ("REPO:" or "REPO:v1"),
// within completionTimeout. Anything else (no ":" yet, a digest, an error)
// completes to nothing.
func RemoteTagCompletions(ctx context.Context, f *Factory, toComplete string) []string {
	slash := strings.LastIndexByte(toComplete, '/')
	colon := strings.LastIndexByte(toComplete, ':')
	if colon <= slash || strings.Contains(toComplete, "@") {
		return nil
	}
	repo, prefix := toComplete[:colon], toComplete[colon+1:]
	r, err := reference.ParseRepository(repo)
	if err != nil {
		return nil
	}
	rc, err := f.Registry()
	if err != nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	tags, err := rc.ListTags(ctx, r, 0)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, prefix) {
			out = append(out, repo+":"+t)
		}
	}
	return out
}

// completeLocalRefs completes the references of images in the local store
// (docker's short form, as `ctl images` shows them), read live from the
// store's index. Only the first firstN arguments complete (0: every one).
func completeLocalRefs(f *Factory, firstN int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if firstN > 0 && len(args) >= firstN {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return LocalRefCompletions(f, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeLocalOrRemoteRefs completes local references, and once a
// repository is followed by ":" its tags in the registry too (pull, copy).
func completeLocalOrRemoteRefs(f *Factory, firstN int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if firstN > 0 && len(args) >= firstN {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := LocalRefCompletions(f, toComplete)
		seen := make(map[string]bool, len(out))
		for _, s := range out {
			seen[s] = true
		}
		for _, s := range RemoteTagCompletions(c.Context(), f, toComplete) {
			if !seen[s] {
				out = append(out, s)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// LocalRefCompletions returns the familiar references of the local store
// ("nginx:1.25", "localhost:5000/gallery/ui:v1") that start with
// toComplete, sorted. A store that does not exist yet is not created:
// it completes to nothing.
func LocalRefCompletions(f *Factory, toComplete string) []string {
	s, err := f.ExistingStore()
	if err != nil {
		return nil
	}
	entries, err := s.List()
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		r, ok := e.Reference()
		if !ok {
			continue
		}
		if fam := r.Familiar(); strings.HasPrefix(fam, toComplete) {
			out = append(out, fam)
		} else if can := r.String(); strings.HasPrefix(can, toComplete) {
			out = append(out, can)
		}
	}
	sort.Strings(out)
	return out
}

// bashCompletionCheck follows cobra's bash script: it registers ctl's
// completion again through a function that, in a shell without the
// bash-completion package (whose _get_comp_words_by_ref cobra's script
// calls), says what is missing instead of bash's "command not found" at
// every TAB. The check runs at TAB time, so a bashrc that loads
// bash-completion after ctl's script still completes.
const bashCompletionCheck = `
__ctl_start_checked()
{
    if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        printf '\nctl: completion needs the bash-completion package, loaded in this shell (apt-get install bash-completion; brew install bash-completion@2)\n' >&2
        return 0
    fi
    __start_ctl "$@"
}
if [[ $(type -t compopt) = "builtin" ]]; then
    complete -o default -F __ctl_start_checked ctl
else
    complete -o default -o nospace -F __ctl_start_checked ctl
fi
`

// checkBashCompletion makes "ctl completion bash" print cobra's script
// followed by bashCompletionCheck.
func checkBashCompletion(root *cobra.Command) {
	c, _, err := root.Find([]string{"completion", "bash"})
	if err != nil || c.Name() != "bash" {
		return
	}
	gen := c.RunE
	c.RunE = func(c *cobra.Command, args []string) error {
		if err := gen(c, args); err != nil {
			return err
		}
		_, err := io.WriteString(c.OutOrStdout(), bashCompletionCheck)
		return err
	}
}
