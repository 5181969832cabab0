package bounded

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestReaderContextReadsAll(t *testing.T) {
	want := strings.Repeat("0123456789", 30000) // several chunks
	b, err := io.ReadAll(ReaderContext(context.Background(), io.MultiReader(strings.NewReader(want[:7]), strings.NewReader(want[7:]))))
	if err != nil || string(b) != want {
		t.Fatalf("read %d bytes, %v; want %d", len(b), err, len(want))
	}
}

// TestReaderContextBlocked: a Read blocked on an idle pipe returns the
// context's error once it is cancelled.
func TestReaderContextBlocked(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := ReaderContext(ctx, pr)
	go func() { pw.Write([]byte("first")) }()
	buf := make([]byte, 10)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "first" {
		t.Fatalf("Read: %q, %v", buf[:n], err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Read(buf); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked 10s after the cancel")
	}
}
