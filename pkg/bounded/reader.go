package bounded

import (
	"context"
	"io"
)

// readChunk is what ReaderContext reads of r at a time.
const readChunk = 64 << 10

// ReaderContext returns a reader of r whose Read returns ctx's error as
// soon as ctx is done, even while a Read of r is blocked (on an idle pipe,
// say). The blocked Read is abandoned, not stopped: use it for a stream
// that nothing else reads once ctx is done, such as standard input.
func ReaderContext(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r, want: make(chan struct{}), got: make(chan chunk, 1)}
}

type chunk struct {
	n   int
	err error
}

// ctxReader hands each Read of r to one goroutine of its own, which reads
// into buf only when asked (want) and answers on got: buf is never written
// while Read copies from it.
type ctxReader struct {
	ctx     context.Context
	r       io.Reader
	started bool
	want    chan struct{}
	got     chan chunk
	buf     []byte
	pending []byte // read from r, not yet returned
	err     error  // r's error, returned once pending is empty
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if len(c.pending) == 0 && c.err == nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
		if !c.started {
			c.started = true
			c.buf = make([]byte, readChunk)
			go c.pump()
		}
		select {
		case c.want <- struct{}{}:
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
		select {
		case ch := <-c.got:
			c.pending, c.err = c.buf[:ch.n], ch.err
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return 0, c.err
}

func (c *ctxReader) pump() {
	for range c.want {
		n, err := c.r.Read(c.buf)
		for n == 0 && err == nil { // io.Reader allows it: read again
			n, err = c.r.Read(c.buf)
		}
		c.got <- chunk{n, err}
		if err != nil {
			return
		}
	}
}
