package reference

import "testing"

func TestNamesRegistry(t *testing.T) {
	for s, want := range map[string]bool{
		"app":                     false,
		"app:v1":                  false,
		"diamol/golang":           false,
		"localhost/app":           true,
		"localhost:5000/app:v1":   true,
		"ghcr.io/o/app":           true,
		"Registry/app":            true, // uppercase is never a path
		"127.0.0.1:5000/app":      true,
		"docker.io/library/nginx": true,
		"localhostx/app":          false,
	} {
		if got := NamesRegistry(s); got != want {
			t.Errorf("NamesRegistry(%q) = %v, want %v", s, got, want)
		}
		// Parse agrees: a name without a registry is Docker Hub's.
		if r, err := Parse(s); err == nil && !want && r.Registry() != hubDomain {
			t.Errorf("%q: Parse chose registry %s", s, r.Registry())
		}
	}
}
