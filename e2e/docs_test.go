package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// snippet is a shell block of a guide: ```sh (or bash, shell) fences are
// run by TestDocSnippets, unless their info string says "norun"
// (```sh norun: needs Docker Hub, a prompt or a placeholder). ```console
// blocks are transcripts (commands and their output), not run.
type snippet struct {
	file string
	line int
	text string
}

func docSnippets(t *testing.T, root string) []snippet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no guides in docs/: %v", err)
	}
	var out []snippet
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cur *snippet
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			switch {
			case cur != nil && strings.TrimSpace(line) == "```":
				out = append(out, *cur)
				cur = nil
			case cur != nil:
				cur.text += line + "\n"
			case strings.HasPrefix(line, "```"):
				info := strings.Fields(strings.TrimPrefix(line, "```"))
				if len(info) > 0 && (info[0] == "sh" || info[0] == "bash" || info[0] == "shell") && !strings.Contains(line, "norun") {
					cur = &snippet{file: filepath.Base(f), line: n}
				}
			}
		}
	}
	return out
}

// TestDocSnippets runs every runnable shell block of docs/*.md with bash -e
// against a real registry: registry.local:5000 in a block is that registry
// (and $REG names it), which holds golden/sdk:3.0 and :latest,
// gallery/ui:2.1, and app:2.1.106 and :build-4711; the working directory has a Dockerfile on golden bases
// (one through an ARG registry), services/api/Dockerfile (pinned, Docker
// Hub) and web/Dockerfile; the store has the image app-build. Each block
// starts from a fresh copy of all this.
func TestDocSnippets(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	for _, repo := range []string{"golden/sdk:3.0", "golden/sdk:latest", "gallery/ui:2.1", "app:2.1.106", "app:build-4711"} {
		reg.PushRandomImage(t, repo, 1, 512)
	}
	empty := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "app-build.tar")
	testenv.ImagesTar(t, tarPath, map[string]v1.Image{"app-build:latest": img}, false)
	ctlDir := filepath.Dir(testenv.CtlBinary(t))

	snippets := docSnippets(t, root)
	for _, s := range snippets {
		t.Run(fmt.Sprintf("%s:%d", s.file, s.line), func(t *testing.T) {
			t.Parallel()
			e := newDocEnv(t, reg.Host, ctlDir, tarPath)
			script := strings.ReplaceAll(s.text, "registry.local:5000", reg.Host)
			r := e.Exec(t, "bash", script, time.Minute, "-e", "-o", "pipefail", "-s")
			if r.Code != 0 {
				t.Errorf("%s:%d exits %d:\n%s\nstdout:\n%s\nstderr:\n%s", s.file, s.line, r.Code, s.text, r.Stdout, r.Stderr)
			}
			// The scripting guide's error branch, against a registry
			// without the tag: the case must see ctl's exit code 3.
			if strings.Contains(s.text, "was never pushed") {
				e.Setenv("REG", empty.Host)
				r := e.Exec(t, "bash", strings.ReplaceAll(s.text, "registry.local:5000", empty.Host), time.Minute, "-e", "-o", "pipefail", "-s")
				if r.Code != 1 || !strings.Contains(r.Stderr, "gallery/ui:2.1 was never pushed\n") {
					t.Errorf("%s:%d on a registry without the tag: exit %d, stderr %q; want 1 and the not-found branch", s.file, s.line, r.Code, r.Stderr)
				}
			}
		})
	}
	// Keep the test honest: the guides do have runnable blocks.
	if len(snippets) < 5 {
		t.Errorf("only %d runnable snippets found in docs/*.md", len(snippets))
	}
}

// newDocEnv is a fresh environment for one snippet: ctl on PATH, $REG, the
// Dockerfiles, and app-build in the store.
func newDocEnv(t *testing.T, host, ctlDir, tarPath string) *testenv.Env {
	t.Helper()
	e := testenv.NewEnv(t)
	e.Setenv("PATH", ctlDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	e.Setenv("REG", host)
	pinned := "@sha256:" + strings.Repeat("0", 64)
	writeDockerfile(t, e, "Dockerfile", "ARG REG="+host+"\nFROM "+host+"/golden/sdk AS build\nRUN make\nFROM $REG/golden/sdk:3.0\n")
	writeDockerfile(t, e, "services/api/Dockerfile", "FROM golden/aspnet-core:3.0"+pinned+"\n")
	writeDockerfile(t, e, "web/Dockerfile", "FROM "+host+"/gallery/ui:2.1\n")
	wantCode(t, e.Run(t, "load", "-q", "-i", tarPath), 0)
	return e
}
