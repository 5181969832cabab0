package cmd

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

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
// redrawn in place. With quiet nothing is printed.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	words progressWords

	mu     sync.Mutex
	order  []v1.Hash
	layers map[v1.Hash]*layerLine
	total  *progressbar.ProgressBar
	sum    int64 // bytes of the layers being moved
	moved  map[v1.Hash]int64
	drawn  int // lines drawn last time (terminal)
	stop   chan struct{}
	done   chan struct{}
}

type layerLine struct {
	status string                   // final or waiting status
	bar    *progressbar.ProgressBar // while bytes move
}

func newProgress(ios *IOStreams, quiet bool, words progressWords) *progress {
	p := &progress{
		w: ios.ErrOut, tty: ios.StderrTTY, quiet: quiet, words: words,
		layers: map[v1.Hash]*layerLine{}, moved: map[v1.Hash]int64{},
	}
	if p.tty && !quiet {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

// newBar is a bar that renders into its own state only; progress draws the
// rendered strings of every bar together.
func newBar(size int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionUseIECUnits(false),
	)
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
		if p.tty {
			if _, seen := p.moved[e.Digest]; !seen && e.Size > 0 {
				p.sum += e.Size
				// Made once the size is known: a bar made with max 0
				// counts as finished at once and stays at 0%.
				if p.total == nil {
					p.total = newBar(p.sum, "total")
				} else {
					p.total.ChangeMax64(p.sum)
				}
			}
			l.bar = newBar(e.Size, shortID(e.Digest))
		}
		p.moved[e.Digest] = 0
	case registry.BlobProgress:
		p.moved[e.Digest] = e.Done
		if l.bar != nil {
			_ = l.bar.Set64(e.Done)
		}
	}
	if p.tty && p.total != nil {
		var n int64
		for _, m := range p.moved {
			n += m
		}
		_ = p.total.Set64(n)
	}
	if final == "" {
		return
	}
	l.status, l.bar = final, nil
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", shortID(e.Digest), escapeControl(final))
	}
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.draw()
		case <-p.stop:
			p.draw()
			return
		}
	}
}

// Line prints a line of its own (such as "v1: Pulling from app") below the
// bars drawn so far, which stay as they are; bars start afresh under it.
func (p *progress) Line(text string) {
	if p.quiet {
		return
	}
	if p.tty && p.stop != nil {
		p.draw()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, text)
	p.order, p.layers, p.moved, p.drawn, p.sum = nil, map[v1.Hash]*layerLine{}, map[v1.Hash]int64{}, 0, 0
	p.total = nil
}

// draw redraws every line in place: move up over what was drawn, then
// rewrite each layer and the total.
func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, h := range p.order {
		l := p.layers[h]
		text := shortID(h) + ": " + escapeControl(l.status)
		if l.bar != nil {
			text = rendered(l.bar)
		}
		b.WriteString("\x1b[2K" + text + "\n")
	}
	lines := len(p.order)
	if p.total != nil {
		b.WriteString("\x1b[2K" + rendered(p.total) + "\n")
		lines++
	}
	p.drawn = lines
	io.WriteString(p.w, b.String())
}

func rendered(bar *progressbar.ProgressBar) string {
	return strings.TrimSpace(strings.ReplaceAll(bar.String(), "\r", ""))
}

// Close draws the final state (terminal) and stops the redraw loop.
func (p *progress) Close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
}
