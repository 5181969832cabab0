package cmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
)

func TestSplitVersionRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		repo     string // "" when invalid
		version  string
		errCheck error // sentinel the error must match, besides exit code 2
	}{
		{in: "registry.local:5000/app:2.1.106", repo: "registry.local:5000/app", version: "2.1.106"},
		{in: "app:v2.1.106", repo: "docker.io/library/app", version: "v2.1.106"},
		{in: "localhost:5000/app:1.0.0+build.5", repo: "localhost:5000/app", version: "1.0.0+build.5"},
		{in: "localhost:5000/app", errCheck: nil},
		{in: "app:2.1", errCheck: semver.ErrInvalid},
		{in: "app:latest", errCheck: semver.ErrInvalid},
		{in: "App:1.0.0", errCheck: reference.ErrInvalid},
		{in: "app@sha256:" + strings.Repeat("a", 64)},
		{in: "app:1.0.0-" + strings.Repeat("a", 130), errCheck: nil},
	}
	for _, tt := range tests {
		repo, v, err := splitVersionRef(tt.in)
		if tt.repo != "" {
			if err != nil || repo.Name() != tt.repo || v.String() != tt.version {
				t.Errorf("splitVersionRef(%q) = %s, %s, %v", tt.in, repo.Name(), v, err)
			}
			continue
		}
		if code, _ := exitCode(err); code != exitUsage || (tt.errCheck != nil && !errors.Is(err, tt.errCheck)) {
			t.Errorf("splitVersionRef(%q) error = %v (exit %d)", tt.in, err, code)
		}
	}
}
