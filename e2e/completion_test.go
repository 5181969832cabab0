package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// bashCompletionScript is where Debian's bash-completion package (which
// scripts/install-deps.sh installs) keeps the script a shell sources.
const bashCompletionScript = "/usr/share/bash-completion/bash_completion"

// TestBashCompletion installs ctl's bash completion as
// docs/configuration.md says, then completes in an interactive bash on a
// terminal: with bash-completion loaded, bash finds ctl's script where it
// was installed and lists a repository's tags after "REPO:" (bash splits
// words at ":", which cobra's script must undo); without it, TAB says
// what is missing instead of bash's "command not found".
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(bashCompletionScript); err != nil {
		t.Fatalf("bash-completion is not installed (make test installs it with scripts/install-deps.sh): %v", err)
	}
	bash := testenv.SystemBinary(t, "bash")
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "app:release-7", 1, 64)
	reg.PushRandomImage(t, "app:release-8", 1, 64)

	e := testenv.NewEnv(t)
	e.Setenv("PATH", filepath.Dir(testenv.CtlBinary(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
	var install string
	for _, s := range docSnippets(t, testenv.RepoRoot(t)) {
		if s.file == "configuration.md" && strings.Contains(s.text, "bash-completion/completions") {
			install = s.text
		}
	}
	if install == "" {
		t.Fatal("docs/configuration.md has no runnable block installing the bash completion")
	}
	if r := e.Exec(t, bash, install, time.Minute, "-e", "-s"); r.Code != 0 {
		t.Fatalf("the documented install exits %d: %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(e.XDGData, "bash-completion", "completions", "ctl")); err != nil {
		t.Fatalf("the documented install did not put the script where bash-completion looks: %v", err)
	}

	sh := e.StartTTYProgram(t, 200, 40, bash, "--norc", "--noprofile", "-i")
	sh.Type(t, "PS1='ctl''-test> '; . "+bashCompletionScript+"\n")
	sh.WaitFor(t, "ctl-test> ", 30*time.Second) // the prompt, not the line typed
	// One TAB inserts the tags' common part and lists them (readline
	// would otherwise list at a later TAB, after bells that are timing's).
	sh.Type(t, "bind 'set show-all-if-ambiguous on'\n")
	sh.Type(t, "ctl pull "+reg.Host+"/app:rel\t")
	sh.WaitFor(t, "release-8", 30*time.Second) // only the listing shows it: "rel" was typed
	sh.WaitFor(t, "ctl-test> ctl pull "+reg.Host+"/app:release-", 30*time.Second)
	sh.Type(t, "\x15exit\n") // ^U: the line typed goes
	if code, _, out := sh.Wait(t); code != 0 {
		t.Errorf("bash exits %d:\n%q", code, out)
	}

	bare := e.StartTTYProgram(t, 200, 40, bash, "--norc", "--noprofile", "-i")
	bare.Type(t, "PS1='ctl''-test> '; source <(ctl completion bash)\n")
	bare.WaitFor(t, "ctl-test> ", 30*time.Second) // the prompt, not the line typed
	bare.Type(t, "ctl pu\t")
	bare.WaitFor(t, "ctl: completion needs the bash-completion package", 30*time.Second)
	bare.Type(t, "\x15exit\n") // ^U: the line typed goes
	if _, _, out := bare.Wait(t); strings.Contains(out, "command not found") {
		t.Errorf("TAB without bash-completion:\n%q", out)
	}
}
