// Package registry talks to container registries over the OCI distribution
// API, over the HTTP stack of its subpackage transport (scheme rules, TLS
// trust, retries, timeouts, redaction), and offers the operations ctl's
// commands need. It never prints.
package registry
