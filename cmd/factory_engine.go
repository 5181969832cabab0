package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/schollz/progressbar/v3"
)

// engineHint is what to do when no engine answers where ctl looked.
const engineHint = "point DOCKER_HOST at the engine's socket (Podman: unix://$XDG_RUNTIME_DIR/podman/podman.sock, as root unix:///run/podman/podman.sock) or select a docker context (docker context use NAME)"

// Engine opens the container engine found as docker finds it (DOCKER_HOST,
// the current docker context of the config dir, /var/run/docker.sock).
// Only the engine commands (--from-engine, --to-engine, images --engine)
// call it: no other command ever contacts an engine.
func (f *Factory) Engine(ctx context.Context) (*engine.Client, error) {
	return engine.Open(ctx, engine.Options{ConfigDir: f.dockerConfigDir(), UserAgent: "ctl/" + Version})
}

// byteProgress is a running count of the bytes copied from or to an
// engine, on stderr when it is a terminal: the engine's archive has no
// size known in advance, so it is a spinner with bytes, not a bar.
type byteProgress struct{ bar *progressbar.ProgressBar }

func newByteProgress(ios *IOStreams, quiet bool, desc string) *byteProgress {
	if quiet || !ios.StderrTTY {
		return &byteProgress{}
	}
	return &byteProgress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(ios.ErrOut),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionUseIECUnits(false),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)}
}

// Func is the progress callback for engine.Client, nil when nothing is shown.
func (p *byteProgress) Func() func(int64) {
	if p.bar == nil {
		return nil
	}
	bar := p.bar
	return func(n int64) { _ = bar.Set64(n) }
}

// newFileProgress is a bar of the bytes read of a file of known size (load
// -i), on stderr when it is a terminal; it fits the terminal's width.
func newFileProgress(ios *IOStreams, quiet bool, desc string) *fileProgress {
	if quiet || !ios.StderrTTY {
		return &fileProgress{}
	}
	return &fileProgress{w: ios.ErrOut, bar: progressbar.NewOptions64(0,
		progressbar.OptionSetWriter(ios.ErrOut),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionUseIECUnits(false),
	)}
}

// fileProgress is the bar of newFileProgress.
type fileProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

// Func is the progress callback for store.LoadWithProgress, nil when
// nothing is shown.
func (p *fileProgress) Func() func(read, size int64) {
	if p.bar == nil {
		return nil
	}
	return func(read, size int64) {
		if p.bar.GetMax64() != size {
			p.bar.ChangeMax64(size)
		}
		_ = p.bar.Set64(read)
	}
}

// Close clears the bar, whether the load ended or was interrupted: the
// cursor is left at the start of an empty line.
func (p *fileProgress) Close() {
	if p.bar != nil {
		// progressbar's Clear does nothing once the bar has reached 100%.
		fmt.Fprint(p.w, "\r\x1b[2K")
	}
}

// Close clears the spinner; again, it does nothing.
func (p *byteProgress) Close() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
