package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/schollz/progressbar/v3"
)

// progressWords are the per-layer statuses docker prints for one operation.
type progressWords struct {
	exists  string // "Layer already exists" (push), "Already exists" (pull)
	done    string // "Pushed", "Pull complete"
	mounted string // "Mounted from %s"
}

var (
	pushWords = progressWords{exists: "Layer already exists", done: "Pushed", mounted: "Mounted from %s"}
	pullWords = progressWords{exists: "Already exists", done: "Pull complete", mounted: "Mounted from %s"}
)

// progress turns the registry package's events into docker's per-layer
// output on stderr: one line per finished layer when stderr is not a
// terminal; on a terminal, a progressbar/v3 bar per layer plus a total,
// redrawn in place, every line fitted to the terminal's current width
// (redrawn at once when it is resized). The total goes when the work ends.
// With quiet nothing is printed.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	words progressWords
	width func() int // columns of the terminal, 0 when unknown

	mu     sync.Mutex
	order  []v1.Hash
	layers map[v1.Hash]*layerLine
	sum    int64 // bytes of the layers being moved
	moved  map[v1.Hash]int64
	drawn  int // lines drawn last time (terminal)
	stop   chan struct{}
	done   chan struct{}
}

type layerLine struct {
	status string // final or waiting status
	final  bool   // status is final: the layer is done
	moving bool   // bytes are moving: a bar of done out of size
	done   int64
	size   int64
}

func newProgress(ios *IOStreams, quiet bool, words progressWords) *progress {
	p := &progress{
		w: ios.ErrOut, tty: ios.StderrTTY, quiet: quiet, words: words, width: ios.ErrWidth,
		layers: map[v1.Hash]*layerLine{}, moved: map[v1.Hash]int64{},
	}
	if p.tty && !quiet {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

// shortID is docker's 12-hex form of a digest.
func shortID(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

// Event records e; it is the registry.ProgressFunc of a command.
func (p *progress) Event(e registry.Event) {
	if p.quiet || !e.Layer {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.layers[e.Digest]
	if l == nil {
		l = &layerLine{status: "Waiting"}
		p.layers[e.Digest] = l
		p.order = append(p.order, e.Digest)
	}
	if l.final {
		// A blob two images share (the platforms of an index) is
		// reported once, as docker shows each layer once: the second
		// image's events for it (already exists, fetched again) add
		// nothing.
		return
	}
	final := ""
	switch e.Kind {
	case registry.BlobExists:
		final = p.words.exists
	case registry.BlobMounted:
		final = fmt.Sprintf(p.words.mounted, e.From)
	case registry.BlobDone:
		final = p.words.done
		p.moved[e.Digest] = e.Size
	case registry.BlobStarted:
		if _, seen := p.moved[e.Digest]; !seen && e.Size > 0 {
			p.sum += e.Size
		}
		l.moving, l.done, l.size = true, 0, e.Size
		p.moved[e.Digest] = 0
	case registry.BlobProgress:
		p.moved[e.Digest] = e.Done
		l.done = e.Done
	}
	if final == "" {
		return
	}
	l.status, l.moving, l.final = final, false, true
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", shortID(e.Digest), escapeControl(final))
	}
}

func (p *progress) loop() {
	defer close(p.done)
	redraw(p.stop, func() { p.draw(false) })
	p.draw(true)
}

// redraw calls draw every 150 ms and whenever the terminal is resized,
// until stop is closed: the redraw loop of every drawing on a terminal.
func redraw(stop <-chan struct{}, draw func()) {
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	resized := make(chan os.Signal, 1)
	defer notifyResize(resized)()
	for {
		select {
		case <-t.C:
		case <-resized:
		case <-stop:
			return
		}
		draw()
	}
}

// Line prints a line of its own (such as "v1: Pulling from app") below the
// layers drawn so far, which stay as they are without their total; bars
// start afresh under it.
func (p *progress) Line(text string) {
	if p.quiet {
		return
	}
	if p.tty && p.stop != nil {
		p.draw(true)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, text)
	p.order, p.layers, p.moved, p.drawn, p.sum = nil, map[v1.Hash]*layerLine{}, map[v1.Hash]int64{}, 0, 0
}

// draw redraws every line in place: back to the first line drawn, then
// each layer, cleared and rewritten, and the total unless final; what is
// left below of a longer drawing is erased. The whole drawing is one write,
// so that no half-drawn line is left whenever the drawing stops.
func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn == 0 && len(p.order) == 0 {
		return
	}
	cols := drawCols(p.width)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", p.drawn)
	}
	for _, h := range p.order {
		l := p.layers[h]
		var text string
		if l.moving {
			text = barLine(h.Hex, l.done, l.size, cols)
		} else {
			text = statusLine(h.Hex, escapeControl(l.status), cols)
		}
		b.WriteString("\x1b[2K" + text + "\n")
	}
	lines := len(p.order)
	if !final && p.sum > 0 {
		var n int64
		for _, m := range p.moved {
			n += m
		}
		b.WriteString("\x1b[2K" + barLine("total", n, p.sum, cols) + "\n")
		lines++
	}
	b.WriteString("\x1b[J")
	p.drawn = lines
	io.WriteString(p.w, b.String())
}

// drawCols is how many columns a drawing on the terminal may fill: one
// short of its width (80 when width is nil or does not know it), since a
// line that fills the last column leaves some terminals wrapping, and the
// next move up one line short.
func drawCols(width func() int) int {
	cols := 80
	if width != nil {
		if w := width(); w > 0 {
			cols = w
		}
	}
	return cols - 1
}

// Bar widths: full, and the narrowest still worth drawing.
const (
	fullBar = 30
	minBar  = 10
)

// barLine is a layer's (or the total's) line while bytes move, "ID: NN%
// |bar| DONE/SIZE", in at most cols columns. As the terminal narrows, the
// id (docker's 12 hex digits) and the units shorten first, then the bar,
// then the sizes and the bar go; whatever is left is cut at cols.
func barLine(id string, done, size int64, cols int) string {
	sizes := humanSize(done) + "/" + humanSize(size)
	short := shortSize(done) + "/" + shortSize(size)
	layouts := []struct {
		id, sizes string
		bar       int // narrowest bar for this layout
	}{
		{label(id, 12), sizes, fullBar},
		{label(id, 12), short, fullBar},
		{label(id, 7), short, minBar},
		{label(id, 7), "", minBar},
	}
	for _, l := range layouts {
		text := l.id + ": " + renderBar(done, size, 0) + sep(l.sizes)
		if w := cols - width(text); w >= l.bar {
			return l.id + ": " + renderBar(done, size, min(w, fullBar)) + sep(l.sizes)
		}
	}
	pct := 100
	if size > 0 {
		pct = int(done * 100 / size)
	}
	return cut(fmt.Sprintf("%s: %d%%", label(id, 7), pct), cols)
}

// statusLine is a layer's line once it is waiting or done: "ID: STATUS",
// the id shortened and then the line cut to fit cols.
func statusLine(id, status string, cols int) string {
	if text := label(id, 12) + ": " + status; width(text) <= cols {
		return text
	}
	return cut(label(id, 7)+": "+status, cols)
}

// label is a digest's hex cut to n (docker shows 12), or a word as it is.
func label(id string, n int) string {
	if len(id) == 64 {
		return id[:n]
	}
	return id
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// renderBar is progressbar's drawing of done out of size, bar columns
// wide: "NN% |█████     |".
func renderBar(done, size int64, bar int) string {
	b := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetWidth(bar),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
	)
	_ = b.Set64(done)
	return strings.TrimSpace(strings.ReplaceAll(b.String(), "\r", ""))
}

// shortSize is humanSize without the B: 1.2M, 345k.
func shortSize(n int64) string {
	return strings.TrimSuffix(humanSize(n), "B")
}

func width(s string) int { return utf8.RuneCountInString(s) }

// cut shortens s to at most cols runes.
func cut(s string, cols int) string {
	if width(s) <= cols {
		return s
	}
	return string([]rune(s)[:max(cols, 0)])
}

// Close draws the final state (terminal), without the total, and stops the
// redraw loop.
func (p *progress) Close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
}
