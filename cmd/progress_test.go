package cmd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

// TestProgressBars feeds the progress printer a pull's events on a
// terminal: a bar per layer while bytes move, then docker's statuses.
func TestProgressBars(t *testing.T) {
	t.Parallel()
	ios, _, errOut := TestIO("")
	ios.StderrTTY = true
	p := newProgress(ios, false, pullWords)
	h1 := mustHash(t, strings.Repeat("1", 64))
	h2 := mustHash(t, strings.Repeat("2", 64))
	p.Event(registry.Event{Kind: registry.BlobExists, Digest: h1, Size: 10, Layer: true})
	p.Event(registry.Event{Kind: registry.BlobStarted, Digest: h2, Size: 1000, Layer: true})
	p.Event(registry.Event{Kind: registry.BlobProgress, Digest: h2, Size: 1000, Done: 500, Layer: true})
	p.draw()
	mid := errOut.String()
	if !strings.Contains(mid, "111111111111: Already exists") || !strings.Contains(mid, "222222222222") || !strings.Contains(mid, "50%") {
		t.Errorf("mid-transfer drawing %q", mid)
	}
	if !regexp.MustCompile(`total +50% `).MatchString(mid) {
		t.Errorf("mid-transfer total %q, want 50%%", mid)
	}
	p.Event(registry.Event{Kind: registry.BlobDone, Digest: h2, Size: 1000, Done: 1000, Layer: true})
	p.Close()
	if !strings.Contains(errOut.String(), "222222222222: Pull complete") {
		t.Errorf("final drawing %q", errOut)
	}
	if final := errOut.String()[len(mid):]; !regexp.MustCompile(`total +100% `).MatchString(final) {
		t.Errorf("final total %q, want 100%%", final)
	}
}
