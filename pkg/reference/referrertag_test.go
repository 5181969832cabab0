package reference

import "testing"

func TestReferrerTagSubject(t *testing.T) {
	t.Parallel()
	hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		tag, digest, suffix string
		ok                  bool
	}{
		{"sha256-" + hex, "sha256:" + hex, "", true},
		{"sha256-" + hex + ".sig", "sha256:" + hex, ".sig", true},
		{"sha256-" + hex + ".att", "sha256:" + hex, ".att", true},
		{"sha256-" + hex + ".sbom", "sha256:" + hex, ".sbom", true},
		{"sha256-" + hex + ".txt", "", "", false},
		{"sha256-" + hex[:63], "", "", false},
		{"sha256-" + hex[:63] + "G", "", "", false},
		{"sha512-" + hex, "", "", false},
		{"v1.2.3", "", "", false},
	} {
		d, s, ok := ReferrerTagSubject(tc.tag)
		if d != tc.digest || s != tc.suffix || ok != tc.ok {
			t.Errorf("%s: %q %q %v, want %q %q %v", tc.tag, d, s, ok, tc.digest, tc.suffix, tc.ok)
		}
	}
}
