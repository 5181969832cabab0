package store

import (
	"bufio"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ctl-dev/ctl/pkg/bounded"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The bound on what load decompresses (a gzip'd archive, and each
// compressed layer of a classic docker save, whose diff_id is checked):
// at any point, at most maxInflateRatio times the compressed bytes read
// so far, plus inflateSlack. Honest archives and layers stay far below
// (a tar of programs and text gzips 2 to 10 times smaller); a gzip bomb
// (zeros, about 1000 to 1) is refused after a few hundred MiB, in
// seconds, whatever size it claims. See docs/design.md, "Decompression".
const (
	maxInflateRatio = 100
	inflateSlack    = 256 << 20
	// maxZstdWindow is the largest zstd window a layer may ask for (the
	// decoder's memory): zstd --long=27's, 128 MiB.
	maxZstdWindow = 128 << 20
)

// inflateError is a decompressed stream that outgrew the bound.
type inflateError struct{ in, out int64 }

func (e *inflateError) Error() string {
	return fmt.Sprintf("decompresses to more than %d times its compressed size plus %s (%d compressed bytes gave %d): refused as a decompression bomb",
		maxInflateRatio, bounded.FormatSize(inflateSlack), e.in, e.out)
}

// Unwrap makes it the user's input (exit 2).
func (e *inflateError) Unwrap() error { return ErrInvalidInput }

// countReader counts the compressed bytes a decompressor takes; it is an
// io.ByteReader, so that flate reads through it without buffering ahead.
type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// inflater is a decompressed stream held to the bound.
type inflater struct {
	in  *countReader
	z   io.Reader
	out int64
}

// codec is a compression newInflater undoes.
type codec int

const (
	codecGzip codec = iota
	codecZstd
	codecBzip2
)

// layerCodec is the codec of a compressed layer of media type mt.
func layerCodec(mt types.MediaType) codec {
	if mt == types.OCILayerZStd {
		return codecZstd
	}
	return codecGzip
}

// newInflater decompresses br within the bound.
func newInflater(br *bufio.Reader, c codec) (*inflater, error) {
	in := &countReader{r: br}
	var z io.Reader
	var err error
	switch c {
	case codecZstd:
		z, err = zstd.NewReader(in, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxZstdWindow))
	case codecBzip2:
		z = bzip2.NewReader(in)
	default:
		z, err = gzip.NewReader(in)
	}
	if err != nil {
		return nil, err
	}
	return &inflater{in: in, z: z}, nil
}

func (f *inflater) Read(p []byte) (int, error) {
	n, err := f.z.Read(p)
	f.out += int64(n)
	if f.out > maxInflateRatio*f.in.n+inflateSlack {
		return 0, &inflateError{in: f.in.n, out: f.out}
	}
	return n, err
}

// inflateBufs are diffID's read buffers, reused: a load decompresses one
// layer after another, and a fresh 1 MiB buffer for each made a docker
// save of 300 small images allocate (and zero) 300 MiB.
var inflateBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1<<20) }}

// diffID decompresses the compressed layer blob h (of media type mt) of
// a batch and returns the digest of its tar, what an image config lists
// in diff_ids; name is the layer's member in messages.
func diffID(ctx context.Context, b *batch, h v1.Hash, mt types.MediaType, name string) (v1.Hash, error) {
	f, err := b.open(h)
	if err != nil {
		return v1.Hash{}, err
	}
	defer f.Close()
	br := inflateBufs.Get().(*bufio.Reader)
	br.Reset(ctxReader{ctx, f})
	defer func() {
		br.Reset(nil)
		inflateBufs.Put(br)
	}()
	z, err := newInflater(br, layerCodec(mt))
	if err != nil {
		return v1.Hash{}, invalid("layer %s does not decompress: %v", name, err)
	}
	if c, ok := z.z.(*zstd.Decoder); ok {
		defer c.Close()
	}
	sum := sha256.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	if _, err := io.CopyBuffer(sum, onlyReader{z}, *bp); err != nil {
		if ctx.Err() != nil {
			return v1.Hash{}, ctx.Err()
		}
		if errors.As(err, new(*inflateError)) {
			return v1.Hash{}, invalid("layer %s %v", name, err)
		}
		return v1.Hash{}, invalid("layer %s does not decompress: %v", name, err)
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum.Sum(nil))}, nil
}
