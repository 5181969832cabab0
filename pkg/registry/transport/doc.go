// Package transport is the HTTP stack under every registry request ctl
// sends: which hosts may be reached over plain HTTP, TLS trust from CA
// files and docker's certs.d (client certificates included), bounded
// retries honouring Retry-After, timeouts, redacted request logging and a
// cache of bearer tokens and pings. Build it with New; go-containerregistry's
// authenticating transport goes on top.
package transport
