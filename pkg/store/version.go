package store

import (
	"errors"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

// TagVersion tags src as version v of repository repo in the store: the
// exact version tag plus the moving tags (MAJOR.MINOR, MAJOR, latest) that
// tagplan allows given the repository's existing tags in the store, so no
// tag moves backwards. With dryRun nothing is written. The steps come back
// in plan order.
func (s *Store) TagVersion(src Entry, repo reference.Reference, v semver.Version, opts tagplan.Options, dryRun bool) ([]tagplan.Step, error) {
	entries, err := s.Tags(repo)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	existing := make(map[string]string, len(entries))
	prefix := repo.Name() + ":"
	for _, e := range entries {
		existing[strings.TrimPrefix(e.Ref, prefix)] = e.Digest.String()
	}
	steps := tagplan.Plan(v, existing, src.Digest.String(), opts)
	var targets []reference.Reference
	for _, st := range steps {
		if st.Action != tagplan.Created && st.Action != tagplan.Moved {
			continue
		}
		t, err := repo.WithTag(st.Tag)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if dryRun || len(targets) == 0 {
		return steps, nil
	}
	if err := s.Tag(src, targets...); err != nil {
		return nil, err
	}
	return steps, nil
}
