package transfer

import (
	"strings"
	"testing"
)

func TestCosignSubject(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		tag  string
		want string // "" when not a cosign tag
	}{
		{"sha256-" + hex + ".sig", "sha256:" + hex},
		{"sha256-" + hex + ".att", "sha256:" + hex},
		{"sha256-" + hex + ".sbom", "sha256:" + hex},
		{"sha256-" + hex, ""},          // the tag schema's index, not cosign's
		{"sha256-" + hex + ".txt", ""}, // not a cosign suffix
		{"sha256-abc.sig", ""},         // not a digest
		{"v1.sig", ""},
		{"latest", ""},
	}
	for _, tc := range tests {
		h, ok := cosignSubject(tc.tag)
		if got := h.String(); ok != (tc.want != "") || ok && got != tc.want {
			t.Errorf("cosignSubject(%q) = %s, %v; want %q", tc.tag, got, ok, tc.want)
		}
	}
}
