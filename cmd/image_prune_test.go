package cmd

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestImagePruneAll: image prune -a, docker's shorthand, removes tagged
// images too (the store has no containers to keep them in use).
func TestImagePruneAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	archive, img := imageArchive(t, "user/app:v1", 100, 1)
	store := filepath.Join(dir, "s")
	run(t, "--store", store, "load", "-i", archive)
	if out, errOut, code := run(t, "--store", store, "image", "prune", "-f"); code != 0 || strings.Contains(out, "deleted:") {
		t.Fatalf("prune without -a: exit %d stdout %q stderr %q; want the tagged image kept", code, out, errOut)
	}
	id, _ := img.ConfigName()
	out, errOut, code := run(t, "--store", store, "image", "prune", "-a", "-f")
	if code != 0 || !strings.HasPrefix(out, "Deleted Images:\ndeleted: "+id.String()+"\n\nTotal reclaimed space: ") {
		t.Errorf("prune -a: exit %d stdout %q stderr %q", code, out, errOut)
	}
	if out, _, _ := run(t, "--store", store, "images", "-q"); out != "" {
		t.Errorf("images left after prune -a: %q", out)
	}
}
