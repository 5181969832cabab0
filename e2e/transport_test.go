package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// Faults seen by the binary through testenv's proxy: retried 503s, a 429
// whose Retry-After is honoured, and one asking for longer than ctl waits.
func TestTransportFaults(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "team/app:v1", 1, 256)
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	repo := proxy.Host + "/team/app"
	tagsPath := "/v2/team/app/tags/list"

	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: tagsPath, Times: 2, Kind: testenv.FaultStatus, Status: 503})
	if r := e.Run(t, "tags", "list", repo); r.Code != 0 || r.Stdout != "v1\n" {
		t.Errorf("tags list through two 503s: exit %d, stdout %q", r.Code, r.Stdout)
	}

	proxy.ClearFaults()
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: tagsPath, Times: 1, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "2"})
	start := time.Now()
	if r := e.Run(t, "tags", "list", repo); r.Code != 0 || r.Stdout != "v1\n" {
		t.Errorf("tags list through a 429: exit %d, stdout %q", r.Code, r.Stdout)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("finished in %s, before the 2 s Retry-After", d)
	}

	proxy.ClearFaults()
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: tagsPath, Times: 1, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "7200",
		Body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`})
	r := e.Run(t, "tags", "list", repo)
	if r.Code != 1 || !strings.Contains(r.Stderr, "is rate limiting requests; it asks to retry after") || !strings.Contains(r.Stderr, "(in 1h59m") && !strings.Contains(r.Stderr, "(in 2h0m") {
		t.Errorf("429 for two hours: exit %d, stderr %q", r.Code, r.Stderr)
	}

	// Server-supplied text reaches the terminal with its control
	// characters escaped.
	proxy.ClearFaults()
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: tagsPath, Kind: testenv.FaultStatus, Status: 400,
		Body: `{"errors":[{"code":"DENIED","message":"bad \u001b[2J\u001b]0;owned\u0007 request"}]}`})
	r = e.Run(t, "tags", "list", repo)
	if r.Code == 0 || strings.ContainsAny(r.Stderr, "\x1b\a") || !strings.Contains(r.Stderr, `bad \x1b[2J\x1b]0;owned\a request`) {
		t.Errorf("error text with control characters: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
