package reference

import (
	"slices"
	"strings"
)

// CosignSuffixes are the suffixes of the tags cosign writes beside a
// subject's sha256-<hex> tag: signatures, attestations, SBOMs.
var CosignSuffixes = []string{".sig", ".att", ".sbom"}

// ReferrerTagSubject reads the subject digest ("sha256:<hex>") out of a tag
// that refers to another manifest: the referrers tag schema's
// sha256-<hex> (the index of its referrers) or cosign's sha256-<hex>.sig,
// .att and .sbom. suffix is "" or the cosign suffix; ok is false for any
// other tag.
func ReferrerTagSubject(tag string) (digest, suffix string, ok bool) {
	hex, ok := strings.CutPrefix(tag, "sha256-")
	if !ok {
		return "", "", false
	}
	if i := strings.IndexByte(hex, '.'); i >= 0 {
		hex, suffix = hex[:i], hex[i:]
		if !slices.Contains(CosignSuffixes, suffix) {
			return "", "", false
		}
	}
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", "", false
	}
	return "sha256:" + hex, suffix, true
}
