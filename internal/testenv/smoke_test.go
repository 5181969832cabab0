package testenv

import (
	"testing"
)

func TestSmoke(t *testing.T) {
	r := StartRegistry(t, RegistryOptions{Token: true})
	t.Log(r.URL, r.Token.URL)
	t.Log(r.Log())
}
