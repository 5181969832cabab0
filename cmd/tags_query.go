package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagset"
	"github.com/spf13/pflag"
)

// tagQueryFlags are the selection and ordering flags of tags list.
type tagQueryFlags struct {
	Exclude []string
	Semver  string
	Newest  int
	Sort    string
	Reverse bool
}

func (t *tagQueryFlags) add(fl *pflag.FlagSet) {
	fl.StringArrayVar(&t.Exclude, "exclude", nil, "leave out tags matching this glob (repeatable: any of them)")
	fl.StringVar(&t.Semver, "semver", "", "only versions in this range (e.g. '>=2.1 <3', '~2.1', '^2')")
	fl.IntVar(&t.Newest, "newest", 0, "only the N newest tags (highest versions, else most recently created)")
	fl.StringVar(&t.Sort, "sort", "", "order: name, semver or created (default: the registry's)")
	fl.BoolVarP(&t.Reverse, "reverse", "r", false, "reverse the order")
}

// query checks the flags and returns the selection, with include the
// --filter globs (checked by listPrinter).
func (t *tagQueryFlags) query(include []string) (tagset.Query, error) {
	q := tagset.Query{Include: include, Exclude: t.Exclude, Newest: t.Newest, Reverse: t.Reverse}
	for _, g := range t.Exclude {
		if err := checkGlob("exclude", g); err != nil {
			return q, err
		}
	}
	switch o := tagset.Order(t.Sort); o {
	case tagset.Registry, tagset.ByName, tagset.BySemver, tagset.ByCreated:
		q.Order = o
	default:
		return q, usageError{fmt.Errorf("invalid --sort %q: use name, semver or created", t.Sort)}
	}
	if t.Newest < 0 {
		return q, usageError{fmt.Errorf("invalid --newest %d: must be positive", t.Newest)}
	}
	if t.Semver != "" {
		r, err := semver.ParseRange(t.Semver)
		if err != nil {
			return q, invalidInput(rangeError(err))
		}
		q.Range = &r
	}
	return q, nil
}

// rangeError shows where a --semver range stops parsing, under it.
func rangeError(err error) error {
	var re *semver.RangeError
	if !errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("invalid --semver %q: %s\n  %s\n  %s^", re.Range, re.Msg, re.Range, strings.Repeat(" ", re.Offset))
}

// arrangeDetails applies q's newest and order to details.
func arrangeDetails(q tagset.Query, details []registry.TagDetail) []registry.TagDetail {
	byTag := make(map[string]registry.TagDetail, len(details))
	ts := make([]tagset.Tag, len(details))
	for i, d := range details {
		byTag[d.Tag] = d
		ts[i] = tagset.Tag{Name: d.Tag, Created: d.Created}
	}
	out := make([]registry.TagDetail, 0, len(details))
	for _, t := range q.Arrange(ts) {
		out = append(out, byTag[t.Name])
	}
	return out
}
