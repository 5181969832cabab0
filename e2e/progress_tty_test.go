//go:build unix

package e2e

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// screenOf applies what ctl wrote to a terminal cols wide, and checks what
// every redraw must keep: no line wider than the terminal (a wrapped line
// makes the next redraw leave a stale copy) and the cursor at the start of
// a line at the end (nothing half-drawn).
func screenOf(t *testing.T, cols int, terminal string) []string {
	t.Helper()
	s := testenv.NewScreen(cols)
	s.Write([]byte(terminal))
	if s.Wraps != 0 || s.Column() != 0 {
		t.Errorf("%d columns: %d lines wider than the terminal, cursor in column %d at the end; the screen:\n%s\nraw: %q",
			cols, s.Wraps, s.Column(), strings.Join(s.Lines(), "\n"), terminal)
	}
	return s.Lines()
}

// TestPushProgressNarrowTerminal pushes through a slow proxy with stderr on
// terminals 50 and 66 columns wide: every bar fits, and the final screen
// holds the header and one line per layer, without the total.
func TestPushProgressNarrowTerminal(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	proxy.SetDelay(200 * time.Millisecond) // several redraws while layers move
	for _, cols := range []int{50, 66} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			e := testenv.NewEnv(t)
			repo := proxy.Host + "/a" // the header fits 50 columns too
			seed(t, e, 4, 300_000, repo+":v1")
			tty := e.StartTTY(t, cols, 100, "push", repo+":v1")
			code, stdout, terminal := tty.Wait(t)
			if code != 0 {
				t.Fatalf("exit %d; terminal %q", code, terminal)
			}
			if !strings.Contains(stdout, "v1: digest: sha256:") {
				t.Errorf("stdout %q", stdout)
			}
			if !strings.Contains(terminal, "%") {
				t.Errorf("no bar was drawn: %q", terminal)
			}
			lines := screenOf(t, cols, terminal)
			if len(lines) != 5 || lines[0] != "The push refers to repository ["+repo+"]" {
				t.Fatalf("final screen, want the header and 4 layers:\n%s", strings.Join(lines, "\n"))
			}
			pushed := regexp.MustCompile(`^[0-9a-f]{7,12}: Pushed$`)
			for _, l := range lines[1:] {
				if !pushed.MatchString(l) {
					t.Errorf("final screen line %q", l)
				}
			}
			if sorted := slices.Sorted(slices.Values(lines)); len(slices.Compact(sorted)) != len(lines) {
				t.Errorf("duplicate lines on the final screen:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// TestPushProgressInterrupted: Ctrl-C during a push leaves whole lines on
// the terminal, no total, and ctl's error on a line of its own.
func TestPushProgressInterrupted(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	repo := proxy.Host + "/interrupted/app"
	seed(t, e, 3, 300_000, repo+":v1")
	// Uploads never finish: the push is cut short with bars on the screen.
	proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/blobs/uploads/", Kind: testenv.FaultHang})
	tty := e.StartTTY(t, 80, 100, "push", repo+":v1")
	tty.WaitFor(t, "total: ", time.Minute)
	tty.Signal(t, os.Interrupt)
	code, _, terminal := tty.Wait(t)
	if code == 0 {
		t.Fatalf("exit 0 after Ctrl-C; terminal %q", terminal)
	}
	lines := screenOf(t, 80, terminal)
	layer := regexp.MustCompile(`^[0-9a-f]{12}: `)
	for i, l := range lines {
		switch {
		case i == 0 && strings.HasPrefix(l, "The push refers to repository ["):
		case i == len(lines)-1 && (strings.HasPrefix(l, "Error: ") || strings.HasPrefix(l, "interrupted")):
		case i > 0 && i < len(lines)-1 && layer.MatchString(l) && !strings.Contains(l, "Error"):
		default:
			t.Errorf("line %d on the screen after Ctrl-C: %q\nscreen:\n%s", i, l, strings.Join(lines, "\n"))
		}
	}
}

// TestSyncProgressTerminal: ctl sync with stderr on a terminal 60 columns
// wide draws a bar per image being copied and a total while the copies
// run, every line fitting the terminal, and leaves only the summary on
// the screen once they are done; stdout gets one line per image.
func TestSyncProgressTerminal(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, src.URL, nil)
	proxy.SetDelay(150 * time.Millisecond) // several redraws while blobs move
	src.PushTagged(t, "app", []testenv.Tagged{{Tags: []string{"v1"}}, {Tags: []string{"v2"}}, {Tags: []string{"v3"}}}, 300_000)
	e := testenv.NewEnv(t)
	tty := e.StartTTY(t, 60, 100, "sync", "-j", "2", proxy.Host+"/app", dst.Host+"/a-rather-long-mirror-prefix/for/the/app")
	code, stdout, terminal := tty.Wait(t)
	if code != 0 {
		t.Fatalf("exit %d; terminal %q", code, terminal)
	}
	if n := strings.Count(stdout, ": digest sha256:"); n != 3 {
		t.Errorf("stdout has %d image lines, want 3: %q", n, stdout)
	}
	// Names lose their registry host first to leave the bar its room.
	if !strings.Contains(terminal, "Syncing: 0/3 images") || !regexp.MustCompile(`\x1b\[2Kapp:v[123]: [0-9]+% \|`).MatchString(terminal) {
		t.Errorf("the drawing never showed an image's bar and the total: %q", terminal)
	}
	lines := screenOf(t, 60, terminal)
	if len(lines) != 1 || lines[0] != "Synced: 3 copied, 0 up to date, 0 skipped, 0 failed" {
		t.Errorf("final screen, want only the summary:\n%s", strings.Join(lines, "\n"))
	}
}
