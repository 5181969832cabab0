package cmd

import "testing"

// TestPlatformFlag: a bad --platform is named as such (not as an invalid
// reference), the same way by every command that takes it.
func TestPlatformFlag(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"pull", "copy", "digest"} {
		args := []string{c, "--platform", "bogus", "reg.example/a"}
		if c == "copy" {
			args = append(args, "reg.example/b")
		}
		_, errOut, code := run(t, args...)
		if want := "Error: invalid --platform \"bogus\": want OS/ARCH[/VARIANT], e.g. linux/arm64/v8\n"; code != exitUsage || errOut != want {
			t.Errorf("%s: exit %d, stderr %q, want %q", c, code, errOut, want)
		}
	}
}
