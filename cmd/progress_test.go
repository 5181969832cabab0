package cmd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestProgressBars feeds the progress printer a pull's events on a
// terminal: a bar per layer while bytes move, then docker's statuses; the
// total goes when the work ends.
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
	p.draw(false)
	mid := errOut.String()
	if !strings.Contains(mid, "111111111111: Already exists") || !regexp.MustCompile(`222222222222: +50% \|`).MatchString(mid) {
		t.Errorf("mid-transfer drawing %q", mid)
	}
	if !regexp.MustCompile(`total: +50% \|`).MatchString(mid) {
		t.Errorf("mid-transfer total %q, want 50%%", mid)
	}
	p.Event(registry.Event{Kind: registry.BlobDone, Digest: h2, Size: 1000, Done: 1000, Layer: true})
	p.Close()
	final := errOut.String()[len(mid):]
	if !strings.Contains(final, "222222222222: Pull complete") || strings.Contains(final, "total") || !strings.HasSuffix(final, "\x1b[J") {
		t.Errorf("final drawing %q: want the layers, no total, and what was below erased", final)
	}
}

// TestBarLineFits: a bar line never exceeds the columns it is given, and
// narrows the id and the units before the bar.
func TestBarLineFits(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("4d5c3d93500b", 6)[:64]
	for cols := 1; cols <= 120; cols++ {
		for _, done := range []int64{0, 1234, 45_600_000} {
			if l := barLine(id, done, 45_600_000, cols); width(l) > cols {
				t.Fatalf("%d columns: %q is %d wide", cols, l, width(l))
			}
			if l := statusLine(id, "Mounted from gallery/base", cols); width(l) > cols {
				t.Fatalf("%d columns: %q is %d wide", cols, l, width(l))
			}
		}
	}
	for _, tc := range []struct {
		cols int    // columns available
		want string // the line, bar filled to 50%
	}{
		{79, "4d5c3d93500b: 50% |███████████████               | 22.8MB/45.6MB"},
		{49, "4d5c3d9: 50% |███████████           | 22.8M/45.6M"},
		{30, "4d5c3d9: 50% |███████        |"},
		{12, "4d5c3d9: 50%"},
	} {
		if got := barLine(id, 22_800_000, 45_600_000, tc.cols); got != tc.want {
			t.Errorf("%d columns: %q, want %q", tc.cols, got, tc.want)
		}
	}
}

// TestProgressFollowsWidth: each redraw asks the terminal's width, so a
// terminal narrowed between two redraws gets lines that fit it.
func TestProgressFollowsWidth(t *testing.T) {
	t.Parallel()
	ios, _, errOut := TestIO("")
	ios.StderrTTY = true
	cols := 80
	ios.ErrWidth = func() int { return cols }
	p := &progress{w: ios.ErrOut, tty: true, words: pushWords, width: ios.ErrWidth,
		layers: map[v1.Hash]*layerLine{}, moved: map[v1.Hash]int64{}}
	h := mustHash(t, strings.Repeat("4d5c3d93500b", 6)[:64])
	p.Event(registry.Event{Kind: registry.BlobStarted, Digest: h, Size: 45_600_000, Layer: true})
	p.Event(registry.Event{Kind: registry.BlobProgress, Digest: h, Size: 45_600_000, Done: 22_800_000, Layer: true})
	p.draw(false)
	wide := errOut.Len()
	cols = 50
	p.draw(false)
	escapes := regexp.MustCompile(`\x1b\[[0-9]*[A-Za-z]|\r`)
	for _, line := range strings.Split(escapes.ReplaceAllString(errOut.String()[wide:], ""), "\n") {
		if width(line) >= cols {
			t.Errorf("line %q is %d wide on a %d-column terminal", line, width(line), cols)
		}
	}
	if !strings.Contains(errOut.String()[:wide], "4d5c3d93500b: 50% |") || !strings.Contains(errOut.String()[wide:], "4d5c3d9: 50% |") {
		t.Errorf("drawings %q", errOut.String())
	}
}

// TestProgressBlobOnce: a blob two images of an index share is one line,
// whatever the second image reports of it (docker shows each layer once).
func TestProgressBlobOnce(t *testing.T) {
	t.Parallel()
	ios, _, errOut := TestIO("")
	p := newProgress(ios, false, pullWords)
	shared := mustHash(t, strings.Repeat("1", 64))
	own := mustHash(t, strings.Repeat("2", 64))
	for _, e := range []registry.Event{
		{Kind: registry.BlobStarted, Digest: shared, Size: 10},
		{Kind: registry.BlobDone, Digest: shared, Size: 10, Done: 10},
		// The second platform's image: the shared layer again.
		{Kind: registry.BlobExists, Digest: shared, Size: 10},
		{Kind: registry.BlobStarted, Digest: shared, Size: 10},
		{Kind: registry.BlobDone, Digest: shared, Size: 10, Done: 10},
		{Kind: registry.BlobDone, Digest: own, Size: 5, Done: 5},
	} {
		e.Layer = true
		p.Event(e)
	}
	p.Close()
	if got, want := errOut.String(), "111111111111: Pull complete\n222222222222: Pull complete\n"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
}
