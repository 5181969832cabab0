package syncplan

import (
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/registry/transport"
)

// TestLimitsHold: a host that answered 429 takes no new copy until the
// time it named, and a waiting sync sleeps until then; a host's pull
// limit holds it while below the threshold.
func TestLimitsHold(t *testing.T) {
	l := &Limits{}
	if _, low := l.low("reg.example", 0); low {
		t.Fatal("a host never heard of is held")
	}
	until := time.Now().Add(2 * time.Hour)
	l.refuse("reg.example", until)
	h, low := l.low("reg.example", 0)
	if !low || !h.Until.Equal(until) || !strings.Contains(h.String(), "reg.example answers 429 Too Many Requests until ") {
		t.Errorf("after a 429 until %s: low %v, hold %+v (%s)", until, low, h, h)
	}
	if _, low := l.low("REG.example", 0); !low {
		t.Error("a host's name in another case is not held")
	}
	if d := pollEvery(h); d < time.Hour || d > 2*time.Hour {
		t.Errorf("a waiting sync sleeps %s, want until the time the host named", d)
	}
	if _, low := l.low("other.example", 0); low {
		t.Error("a 429 of one host holds another")
	}
	l.refuse("reg.example", time.Now().Add(-time.Second))
	if _, low := l.low("reg.example", 0); low {
		t.Error("a 429 whose time has come still holds its host")
	}

	l.Observe(transport.RateLimit{Host: "docker.io", Limit: 100, Remaining: 3, Window: 6 * time.Hour})
	if h, low := l.low("index.docker.io", 5); !low || h.String() != "docker.io has 3 pulls left of 100 per 6h0m0s" || pollEvery(h) != time.Minute {
		t.Errorf("3 pulls left, threshold 5: low %v, hold %s, poll %s", low, h, pollEvery(h))
	}
	if _, low := l.low("index.docker.io", 3); low {
		t.Error("3 pulls left, threshold 3: held")
	}
}
