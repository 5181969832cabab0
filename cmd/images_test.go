package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestNewCmdImages(t *testing.T) {
	t.Parallel()
	parseTable(t, newImagesCmd, func(o *imagesOptions) imagesOptions {
		return imagesOptions{Repo: o.Repo, Filters: o.Filters, Quiet: o.Quiet, Digests: o.Digests, NoTrunc: o.NoTrunc, Format: o.Format, FromEngine: o.FromEngine}
	}, []parseCase[imagesOptions]{
		{[]string{"--filter", "reference=a", "-f", "reference=*/a", "-q", "--digests", "--no-trunc", "nginx"},
			&imagesOptions{Repo: "nginx", Filters: []string{"reference=a", "reference=*/a"}, Quiet: true, Digests: true, NoTrunc: true}},
		{[]string{"--engine", "-f", "reference=*/a"}, &imagesOptions{Filters: []string{"reference=*/a"}, FromEngine: true}},
		{[]string{"a", "b"}, nil},
	})
	if o := parsed(newImagesCmd, "--engine"); o == nil || o.Engine == nil {
		t.Error("images --engine: no engine to list")
	}
}

func TestRunImagesOutput(t *testing.T) {
	t.Parallel()
	s, err := store.Open(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(1000, 1)
	r, _ := reference.Parse("user/app:v1")
	e, err := s.WriteImage(context.Background(), img, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		want   string
	}{
		{"{{.Repository}} {{.Tag}} {{.ID}}", "user/app v1 " + e.ID.Hex[:12] + "\n"},
		{"table {{.Repository}}\t{{.Tag}}", "REPOSITORY   TAG\nuser/app     v1\n"},
		// As typed in a shell: docker reads a literal \t as a tab.
		{`table {{.Repository}}\t{{.Tag}}`, "REPOSITORY   TAG\nuser/app     v1\n"},
		{`{{.Repository}}\t{{.Tag}}\n`, "user/app\tv1\n\n"},
		{"json", `"Repository":"user/app"`},
	} {
		io, out, _ := TestIO("")
		opts := &imagesOptions{IO: io, Store: func() (*store.Store, error) { return s, nil }, Format: tc.format, Now: time.Now}
		if err := runImages(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("--format %q: %q, want %q", tc.format, out.String(), tc.want)
		}
	}
}
