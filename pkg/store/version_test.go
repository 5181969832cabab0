package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

func TestTagVersion(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	repo := ref(t, "registry.local:5000/app")
	write := func(tag string) Entry {
		e, err := s.WriteImage(ctx, randomImage(t, 64, 1), ref(t, "build:"+tag))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	tagVersion := func(src Entry, version string, dry bool) string {
		t.Helper()
		v, err := semver.Parse(version)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := s.TagVersion(src, repo, v, tagplan.Options{}, dry)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range steps {
			got = append(got, fmt.Sprintf("%s %s", st.Tag, st.Action))
		}
		return strings.Join(got, ", ")
	}
	digestOfTag := func(tag string) string {
		e, err := s.Lookup(ref(t, "registry.local:5000/app:"+tag))
		if err != nil {
			return ""
		}
		return e.Digest.String()
	}

	e114 := write("114")
	if got := tagVersion(e114, "2.1.114", false); got != "2.1.114 created, 2.1 created, 2 created, latest created" {
		t.Errorf("first: %s", got)
	}
	e106 := write("106")
	if got := tagVersion(e106, "2.1.106", true); got != "2.1.106 created, 2.1 kept, 2 kept, latest kept" || digestOfTag("2.1.106") != "" {
		t.Errorf("dry run: %s", got)
	}
	tagVersion(e106, "2.1.106", false)
	if digestOfTag("2.1.106") != e106.Digest.String() || digestOfTag("2.1") != e114.Digest.String() || digestOfTag("latest") != e114.Digest.String() {
		t.Errorf("an older patch moved tags backwards")
	}
	e200 := write("200")
	if got := tagVersion(e200, "v2.2.0", false); got != "v2.2.0 created, v2.2 created, v2 created, latest moved" {
		t.Errorf("v-prefixed minor: %s", got)
	}
	if digestOfTag("latest") != e200.Digest.String() || digestOfTag("2") != e114.Digest.String() {
		t.Errorf("latest did not move, or the unprefixed line changed")
	}
}
