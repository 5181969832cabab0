package reference

import (
	"errors"
	"strings"
	"testing"
)

// TestHostLength: a registry host longer than DNS allows (253 characters,
// labels of 63) is invalid when parsed, with a message of bounded length.
func TestHostLength(t *testing.T) {
	label := func(n int) string { return strings.Repeat("a", n) }
	host253 := strings.Join([]string{label(63), label(63), label(63), label(61)}, ".")
	for _, tc := range []struct {
		name, ref string
		ok        bool
		want      string
	}{
		{"253 characters, labels of 63", host253 + "/app:v1", true, ""},
		{"253 characters and a port", host253 + ":5000/app:v1", true, ""},
		{"254 characters", host253 + "a/app:v1", false, "registry host has 254 characters, more than 253"},
		{"10,000 characters", label(9996) + ".com/app", false, "registry host has 10000 characters, more than 253"},
		{"a label of 64", label(64) + ".example.com/app", false, "a label of the registry host (at position 1) has 64 characters, more than 63"},
		{"a second label of 64", "reg." + label(64) + ":5000/app", false, "(at position 5) has 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.ref)
			if tc.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 700 {
				t.Fatalf("Parse: %v; want ErrInvalid saying %q in at most 700 bytes", err, tc.want)
			}
		})
	}
}
