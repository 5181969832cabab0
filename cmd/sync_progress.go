package cmd

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/syncplan"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// syncProgress shows a sync's copies on a terminal: one line per image
// being copied (a bar of the bytes its blobs moved so far out of those it
// has to move) and a total (images done out of those to copy, bytes
// moved), redrawn in place as push's bars are, every line fitted to the
// terminal's width. What the sync prints for good — each image's line on
// stdout, warnings on stderr — is printed above the drawing, which is
// cleared first and drawn again below it; the drawing is gone once the
// copies end. Off a terminal, or quiet, nothing is drawn and those lines
// are printed as they come.
type syncProgress struct {
	errOut io.Writer
	draws  bool       // stderr is a terminal and not quiet
	width  func() int // columns of the terminal, 0 when unknown

	mu     sync.Mutex
	order  []*syncplan.Item
	images map[*syncplan.Item]*imageProgress
	done   int // images finished
	total  int // images to copy
	moved  int64
	drawn  int // lines drawn last time
	stop   chan struct{}
	ended  chan struct{}
}

// imageProgress is what one image's copy moved: per blob, bytes so far.
type imageProgress struct {
	blobs map[v1.Hash]int64
	size  int64
}

func newSyncProgress(ios *IOStreams, quiet bool) *syncProgress {
	return &syncProgress{errOut: ios.ErrOut, draws: ios.StderrTTY && !quiet, width: ios.ErrWidth,
		images: map[*syncplan.Item]*imageProgress{}}
}

// Start begins the drawing, of total images to copy (none: nothing to
// draw).
func (p *syncProgress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	if p.draws && total > 0 {
		p.stop, p.ended = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
}

// Started is the Runner's: its copy begins.
func (p *syncProgress) Started(it *syncplan.Item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.images[it]; !ok {
		p.order = append(p.order, it)
	}
	p.images[it] = &imageProgress{blobs: map[v1.Hash]int64{}}
}

// Event is the Runner's: a blob of its copy moved.
func (p *syncProgress) Event(it *syncplan.Item, e registry.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	im := p.images[it]
	if im == nil {
		return
	}
	switch e.Kind {
	case registry.BlobStarted:
		if _, seen := im.blobs[e.Digest]; !seen {
			im.size += e.Size
		}
		p.add(im, e.Digest, 0)
	case registry.BlobProgress:
		p.add(im, e.Digest, e.Done)
	case registry.BlobDone:
		p.add(im, e.Digest, e.Size)
	}
}

// add sets what blob h of im moved, keeping the total.
func (p *syncProgress) add(im *imageProgress, h v1.Hash, n int64) {
	p.moved += n - im.blobs[h]
	im.blobs[h] = n
}

// Done is its copy ending: line (if any) is printed on w for good.
func (p *syncProgress) Done(it *syncplan.Item, w io.Writer, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.images[it]; ok {
		delete(p.images, it)
		for i, o := range p.order {
			if o == it {
				p.order = append(p.order[:i], p.order[i+1:]...)
				break
			}
		}
	}
	p.done++
	p.printLocked(w, line)
}

// Idle forgets the images drawn as in flight: between the rounds of a
// sync waiting for a pull limit none is (those a limit held back start
// again in the next round).
func (p *syncProgress) Idle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.order, p.images = nil, map[*syncplan.Item]*imageProgress{}
}

// Print prints line on w above the drawing.
func (p *syncProgress) Print(w io.Writer, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLocked(w, line)
}

func (p *syncProgress) printLocked(w io.Writer, line string) {
	if line == "" {
		return
	}
	p.clear()
	fmt.Fprintln(w, line)
	if p.stop != nil {
		p.draw()
	}
}

func (p *syncProgress) loop() {
	defer close(p.ended)
	redraw(p.stop, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.draw()
	})
}

// clear erases the drawing, leaving the cursor where it began.
func (p *syncProgress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.errOut, "\r\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

// draw redraws every line in place, in one write.
func (p *syncProgress) draw() {
	cols := drawCols(p.width)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", p.drawn)
	}
	// A name leaves room for a bar and its sizes: too long, it loses its
	// registry host, then its beginning, keeping the repository's last
	// part and the tag.
	nameCols := max(cols-40, 12)
	for _, it := range p.order {
		im := p.images[it]
		name := escapeControl(it.Source)
		if _, path, ok := strings.Cut(name, "/"); ok && width(name) > nameCols {
			name = path
		}
		if n := []rune(name); len(n) > nameCols {
			name = "…" + string(n[len(n)-nameCols+1:])
		}
		var done int64
		for _, n := range im.blobs {
			done += n
		}
		text := statusLine(name, "copying", cols)
		if im.size > 0 {
			text = barLine(name, done, im.size, cols)
		}
		b.WriteString("\x1b[2K" + text + "\n")
	}
	total := cut(fmt.Sprintf("Syncing: %d/%d images, %s", p.done, p.total, humanSize(p.moved)), cols)
	b.WriteString("\x1b[2K" + total + "\n\x1b[J")
	p.drawn = len(p.order) + 1
	io.WriteString(p.errOut, b.String())
}

// Close stops the redraws and erases the drawing.
func (p *syncProgress) Close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.ended
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.stop = nil
}
