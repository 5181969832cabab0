package store

import (
	"fmt"
	"path"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
)

// Filter selects entries as docker images does. Each pattern (a
// --filter reference=PATTERN or the REPO[:TAG] argument) is matched with
// path.Match against the familiar repository name and the familiar
// reference ("*/image-gallery" matches user/image-gallery:v1,
// "image-gallery" matches image-gallery:latest); an entry matching any
// pattern is kept, and untagged entries match no pattern. A pattern without
// wildcards that is a full reference (docker.io/library/nginx) is compared
// in its familiar form. dangling: nil keeps all, true only untagged
// entries, false only tagged ones.
func Filter(entries []Entry, patterns []string, dangling *bool) ([]Entry, error) {
	pats := make([]string, len(patterns))
	for i, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("%w: bad reference pattern %q: %v", ErrInvalidInput, p, err)
		}
		pats[i] = p
		if !strings.ContainsAny(p, "*?[\\") {
			if r, err := reference.Parse(p); err == nil {
				pats[i] = r.Familiar()
			}
		}
	}
	var out []Entry
	for _, e := range entries {
		if dangling != nil && *dangling != (e.Ref == "") {
			continue
		}
		if len(pats) > 0 && !matchAny(pats, e) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func matchAny(pats []string, e Entry) bool {
	r, ok := e.Reference()
	if !ok {
		return false
	}
	full, name := r.Familiar(), r.FamiliarName()
	for _, p := range pats {
		if m, _ := path.Match(p, full); m {
			return true
		}
		if m, _ := path.Match(p, name); m {
			return true
		}
	}
	return false
}
