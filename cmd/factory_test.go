package cmd

import (
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry/transport"
)

func TestRateLimitWarning(t *testing.T) {
	t.Parallel()
	io, _, errOut := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	warn := f.rateLimitWarning(nil)
	warn(transport.RateLimit{Host: "registry-1.docker.io", Remaining: 50, Limit: 100})
	if errOut.Len() != 0 {
		t.Errorf("warned with 50 left: %q", errOut.String())
	}
	warn(transport.RateLimit{Host: "registry-1.docker.io", Remaining: 3, Limit: 100, Window: 21600e9})
	warn(transport.RateLimit{Host: "registry-1.docker.io", Remaining: 2, Limit: 100})
	if got := errOut.String(); got != "Warning: registry-1.docker.io rate limit: 3 pulls left of 100 per 6h0m0s\n" {
		t.Errorf("warning %q", got)
	}
}
