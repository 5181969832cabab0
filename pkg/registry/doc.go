// Package registry talks to container registries over the OCI distribution
// API, on top of go-containerregistry's remote package: it builds the
// transport (scheme rules, TLS trust, retries, timeouts, redaction) and
// offers the operations ctl's commands need. It never prints.
package registry
