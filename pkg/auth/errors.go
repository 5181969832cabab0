// Package auth reads and writes registry credentials exactly where docker
// keeps them (config.json, credsStore, credHelpers) and checks them against a
// registry before they are stored.
package auth

import "errors"

// ErrBadCredentials: the registry refused the user name and password.
var ErrBadCredentials = errors.New("bad credentials")

// ErrConfig: docker's config file cannot be read or parsed.
var ErrConfig = errors.New("reading docker config")
