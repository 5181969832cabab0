package syncplan

// Action is what the plan does with one tag (or digest).
type Action string

// The actions, as --dry-run prints them.
const (
	// Copy: the destination lacks it or has another digest (a tag that
	// moved upstream, with Moving).
	Copy Action = "copy"
	// UpToDate: the destination has the same digest.
	UpToDate Action = "skip (up to date)"
	// Pinned: the destination has another digest and the entry keeps the
	// mirror's first copy (moving: false).
	Pinned Action = "skip (pinned)"
	// Filtered: the source has the tag but the filters drop it.
	Filtered Action = "skip (filtered)"
	// Refused: it cannot be planned (the source does not resolve it).
	Refused Action = "refused"
)

// Decide is the action for one tag whose source digest is src and whose
// destination digest is dst ("" when the destination lacks it).
func Decide(src, dst string, moving bool) Action {
	switch {
	case src == "":
		return Refused
	case dst == "":
		return Copy
	case dst == src:
		return UpToDate
	case moving:
		return Copy
	}
	return Pinned
}

// Dropped are the listed tags not among kept, in listed order.
func Dropped(listed, kept []string) []string {
	keep := make(map[string]bool, len(kept))
	for _, t := range kept {
		keep[t] = true
	}
	var out []string
	for _, t := range listed {
		if !keep[t] {
			out = append(out, t)
		}
	}
	return out
}
