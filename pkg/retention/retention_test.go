package retention

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/tagset"
)

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func day(i int) time.Time { return base.Add(time.Duration(i) * 24 * time.Hour) }

// repo is a repository of two majors with the moving tags tagplan writes,
// a build tag sharing the newest release's manifest, a stale moving tag,
// an old non-version tag, and a base layer two old releases share.
func repo() []Tag {
	manifest := func(d string, extra ...string) map[string]int64 {
		b := map[string]int64{d: 10, "cfg-" + d: 100, "layer-" + d: 1000}
		for _, e := range extra {
			b[e] = 5000
		}
		return b
	}
	tag := func(name, digest string, created time.Time, extra ...string) Tag {
		return Tag{Tag: tagset.Tag{Name: name, Created: created}, Digest: digest, Blobs: manifest(digest, extra...)}
	}
	return []Tag{
		tag("1.0.0", "d1", day(1), "base"),
		tag("1.1.0", "d2", day(2), "base"),
		tag("1.1.1", "d3", day(3)),
		tag("2.0.0", "d4", day(4)),
		tag("2.1.0", "d5", day(5)),
		tag("2.1.1", "d6", day(6)),
		tag("2.2.0-rc.1", "d7", day(7)),
		tag("1", "d3", day(3)),
		tag("1.1", "d3", day(3)),
		tag("1.0", "d1", day(1)),
		tag("2", "d6", day(6)),
		tag("2.1", "d6", day(6)),
		tag("latest", "d6", day(6)),
		tag("build-6", "d6", day(6)),
		tag("old", "d8", day(0)),
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rules       Rules
		keep        map[string]Rule // kept tags and the rule that kept them; the rest are deleted
		reclaimable int64
	}{
		{
			name:  "keep-last by created (not all tags are versions)",
			rules: Rules{KeepLast: 2},
			keep: map[string]Rule{"2.2.0-rc.1": RuleKeepLast, "2.1.1": RuleKeepLast, "build-6": RuleShared,
				"2": RuleMovingTag, "2.1": RuleMovingTag, "latest": RuleMovingTag},
			reclaimable: 6*1110 + 5000,
		},
		{
			name:  "semver latest of each major and minor",
			rules: Rules{SemverLatest: true},
			keep: map[string]Rule{"1.0.0": RuleSemverLatest, "1.1.1": RuleSemverLatest, "2.0.0": RuleSemverLatest, "2.1.1": RuleSemverLatest,
				"build-6": RuleShared, "1": RuleMovingTag, "1.1": RuleMovingTag, "1.0": RuleMovingTag, "2": RuleMovingTag, "2.1": RuleMovingTag, "latest": RuleMovingTag},
			reclaimable: 4 * 1110,
		},
		{
			name:  "keep globs, moving tags by name too",
			rules: Rules{Keep: []string{"1.*"}},
			keep: map[string]Rule{"1.0.0": RuleKeep, "1.1.0": RuleKeep, "1.1.1": RuleKeep, "1.1": RuleKeep, "1.0": RuleKeep,
				"1": RuleMovingTag},
			reclaimable: 5 * 1110,
		},
		{
			name:  "newer than",
			rules: Rules{NewerThan: 49 * time.Hour, Now: day(7)},
			keep: map[string]Rule{"2.1.0": RuleNewerThan, "2.1.1": RuleNewerThan, "2.2.0-rc.1": RuleNewerThan, "build-6": RuleNewerThan,
				"2": RuleMovingTag, "2.1": RuleMovingTag, "latest": RuleMovingTag},
			reclaimable: 5*1110 + 5000,
		},
		{
			name:  "rules add up, the first one named",
			rules: Rules{KeepLast: 2, Keep: []string{"old", "2.2*"}, NewerThan: 24 * time.Hour, Now: day(7)},
			keep: map[string]Rule{"old": RuleKeep, "2.2.0-rc.1": RuleKeep, "2.1.1": RuleKeepLast,
				"build-6": RuleShared, "2": RuleMovingTag, "2.1": RuleMovingTag, "latest": RuleMovingTag},
			reclaimable: 5*1110 + 5000,
		},
		{
			name:        "a kept moving tag keeps its release",
			rules:       Rules{Keep: []string{"latest"}},
			keep:        map[string]Rule{"latest": RuleKeep, "2.1.1": RuleShared, "build-6": RuleShared, "2": RuleMovingTag, "2.1": RuleMovingTag},
			reclaimable: 7*1110 + 5000,
		},
		{
			name:        "keep-last beyond the repository keeps all",
			rules:       Rules{KeepLast: 100},
			keep:        allKept(),
			reclaimable: 0,
		},
		{
			name:        "no rule deletes all",
			rules:       Rules{},
			keep:        map[string]Rule{},
			reclaimable: 8*1110 + 5000,
		},
	}
	for _, tt := range tests {
		p := Decide(repo(), tt.rules)
		if len(p.Decisions) != len(repo()) {
			t.Fatalf("%s: %d decisions for %d tags", tt.name, len(p.Decisions), len(repo()))
		}
		got := map[string]Rule{}
		for _, d := range p.Decisions {
			if d.Keep {
				got[d.Tag] = d.Rule
			} else if d.Rule != RuleNone && d.Rule != RuleMovingTag {
				t.Errorf("%s: %s deleted by %s", tt.name, d.Tag, d.Rule)
			}
			if d.Why == "" {
				t.Errorf("%s: %s has no reason", tt.name, d.Tag)
			}
		}
		if !maps.Equal(got, tt.keep) {
			t.Errorf("%s: kept %v\nwant %v", tt.name, got, tt.keep)
		}
		if p.Reclaimable != tt.reclaimable {
			t.Errorf("%s: reclaimable %d, want %d", tt.name, p.Reclaimable, tt.reclaimable)
		}
		// No kept tag loses its manifest: every digest of a deleted tag
		// that a kept tag shares would be a deletion by digest.
		kept := map[string]bool{}
		for _, d := range p.Decisions {
			if d.Keep {
				kept[d.Digest] = true
			}
		}
		for _, d := range p.Deletes() {
			if kept[d.Digest] {
				t.Errorf("%s: deletes %s whose manifest %s a kept tag shares", tt.name, d.Tag, d.Digest)
			}
		}
	}
}

func allKept() map[string]Rule {
	m := map[string]Rule{}
	for _, t := range repo() {
		m[t.Name] = RuleKeepLast
	}
	for _, n := range []string{"1", "1.1", "1.0", "2", "2.1", "latest"} {
		m[n] = RuleMovingTag
	}
	return m
}

func TestDecideOrderAndReasons(t *testing.T) {
	t.Parallel()
	p := Decide(repo(), Rules{SemverLatest: true})
	var names []string
	for _, d := range p.Decisions {
		names = append(names, d.Tag)
	}
	// Newest first by created (not every tag is a version), ties by
	// version, then by name.
	want := []string{"2.2.0-rc.1", "2.1.1", "2", "2.1", "build-6", "latest", "2.1.0", "2.0.0", "1.1.1", "1", "1.1", "1.1.0", "1.0.0", "1.0", "old"}
	if !slices.Equal(names, want) {
		t.Errorf("order %v\nwant  %v", names, want)
	}
	why := map[string]string{}
	for _, d := range p.Decisions {
		why[d.Tag] = d.Why
	}
	for tag, w := range map[string]string{
		"2.1.1":      "newest of 2",
		"2.0.0":      "newest of 2.0",
		"latest":     "follows 2.1.1",
		"build-6":    "same as 2",
		"2.1.0":      "not the newest of its line",
		"old":        "not a version",
		"2.2.0-rc.1": "not the newest of its line",
	} {
		if !strings.Contains(why[tag], w) {
			t.Errorf("%s: %q, want %q", tag, why[tag], w)
		}
	}
	p = Decide(repo(), Rules{KeepLast: 1})
	for _, d := range p.Decisions {
		if d.Tag == "1" && d.Why != "follows 1.1.1, which is deleted" {
			t.Errorf("1: %q", d.Why)
		}
	}
}

func TestMovingTagsNeedTheirRelease(t *testing.T) {
	t.Parallel()
	tags := []Tag{
		{Tag: tagset.Tag{Name: "3.0.0", Created: day(1)}, Digest: "a"},
		{Tag: tagset.Tag{Name: "3", Created: day(2)}, Digest: "b"},          // a hand-made 3 elsewhere: an ordinary tag
		{Tag: tagset.Tag{Name: "v3.0", Created: day(1)}, Digest: "a"},       // 3.0.0 has no "v": not its moving tag
		{Tag: tagset.Tag{Name: "latest", Created: day(1)}, Digest: "a"},     // moving
		{Tag: tagset.Tag{Name: "3.0.1-rc.1", Created: day(3)}, Digest: "c"}, // pre-releases own no moving tag
	}
	got := movingTags(tags)
	if !maps.Equal(got, map[string]string{"latest": "3.0.0"}) {
		t.Errorf("moving tags %v", got)
	}
}

// hexDigest is a digest of 64 copies of c.
func hexDigest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// referrerTag is the tag of the referrers of digest, with suffix.
func referrerTag(digest, suffix string) string {
	return strings.Replace(digest, ":", "-", 1) + suffix
}

// decisions maps each tag of p to its decision.
func decisions(p Plan) map[string]Decision {
	out := map[string]Decision{}
	for _, d := range p.Decisions {
		out[d.Tag] = d
	}
	return out
}

// TestDecideKeepsPartsOfKeptIndexes: a tag on a platform image of a kept
// index is kept (deleting it by digest would break the index); one of a
// deleted index is deleted after it.
func TestDecideKeepsPartsOfKeptIndexes(t *testing.T) {
	t.Parallel()
	tag := func(name, digest string, created time.Time, blobs ...string) Tag {
		b := map[string]int64{digest: 10}
		for _, x := range blobs {
			b[x] = 10 // a manifest
			if strings.HasPrefix(x, "L") {
				b[x] = 1000 // a layer
			}
		}
		return Tag{Tag: tagset.Tag{Name: name, Created: created}, Digest: digest, Blobs: b}
	}
	tags := []Tag{
		tag("v2", "i2", day(5), "c1", "c2", "L1", "L2"),
		tag("v2-amd64", "c1", day(5), "L1"),
		tag("v1", "i1", day(1), "c3", "L3"),
		tag("a-v1", "c3", day(1), "L3"),
	}
	p := Decide(tags, Rules{Keep: []string{"x*", "v2"}})
	ds := decisions(p)
	if d := ds["v2"]; !d.Keep || d.Rule != RuleKeep || d.Why != "name matches v2" {
		t.Errorf("v2: %+v", d)
	}
	if d := ds["v2-amd64"]; !d.Keep || d.Rule != RuleIndexChild || d.Why != "part of the index v2" {
		t.Errorf("v2-amd64: %+v", d)
	}
	if ds["v1"].Keep || ds["a-v1"].Keep || ds["a-v1"].Rule != RuleNone {
		t.Errorf("v1, a-v1: %+v %+v", ds["v1"], ds["a-v1"])
	}
	var order []string
	for _, d := range p.Deletes() {
		order = append(order, d.Tag)
	}
	if !slices.Equal(order, []string{"v1", "a-v1"}) {
		t.Errorf("deletes %v: the index must go before its part", order)
	}
	if p.Reclaimable != 10+10+1000 { // v1, its part, its layer
		t.Errorf("reclaimable %d", p.Reclaimable)
	}
}

// TestDecideReferrerTags: referrer tags follow their subject, through the
// referrers of referrers, and take no place among the newest.
func TestDecideReferrerTags(t *testing.T) {
	t.Parallel()
	d1, d2, gone := hexDigest("1"), hexDigest("2"), hexDigest("9")
	ri2, sbom2 := hexDigest("a"), hexDigest("b")
	tag := func(name, digest string, created time.Time, blobs ...string) Tag {
		b := map[string]int64{digest: 10}
		for _, x := range blobs {
			b[x] = 100
		}
		return Tag{Tag: tagset.Tag{Name: name, Created: created}, Digest: digest, Blobs: b}
	}
	tags := []Tag{
		tag("v1", d1, day(1)),
		tag("v2", d2, day(2)),
		tag(referrerTag(d2, ".sig"), hexDigest("c"), day(9)),
		tag(referrerTag(d2, ""), ri2, day(9), sbom2),
		tag(referrerTag(sbom2, ".sig"), hexDigest("d"), day(9)),
		tag(referrerTag(d1, ".att"), hexDigest("e"), day(9)),
		tag(referrerTag(gone, ".sbom"), hexDigest("f"), day(9)),
	}
	ds := decisions(Decide(tags, Rules{KeepLast: 1}))
	if d := ds["v2"]; !d.Keep || d.Rule != RuleKeepLast {
		t.Errorf("v2: %+v (referrer tags must not take the newest's places)", d)
	}
	for tag, want := range map[string]Decision{
		referrerTag(d2, ".sig"):    {Keep: true, Why: "refers to v2"},
		referrerTag(d2, ""):        {Keep: true, Why: "refers to v2"},
		referrerTag(sbom2, ".sig"): {Keep: true, Why: "refers to bbbbbbbbbbbb in " + referrerTag(d2, "")},
		referrerTag(d1, ".att"):    {Why: "refers to v1, which is deleted"},
		referrerTag(gone, ".sbom"): {Why: "refers to 999999999999, which no tag holds"},
	} {
		d := ds[tag]
		if d.Keep != want.Keep || d.Rule != RuleReferrer || d.Why != want.Why {
			t.Errorf("%s: %+v, want keep %v, %q", tag, d, want.Keep, want.Why)
		}
	}
	if ds["v1"].Keep {
		t.Errorf("v1: %+v", ds["v1"])
	}
	// --keep keeps a referrer tag by its name.
	ds = decisions(Decide(tags, Rules{KeepLast: 1, Keep: []string{"sha256-1*"}}))
	if d := ds[referrerTag(d1, ".att")]; !d.Keep || d.Rule != RuleKeep || d.Why != "name matches sha256-1*" {
		t.Errorf("kept by glob: %+v", d)
	}
}
