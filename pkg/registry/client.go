package registry

import (
	"net"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/name"
)

// PlainHTTP reports whether host may be reached over plain HTTP: localhost,
// 127.0.0.0/8 and ::1 always (docker's rule), other hosts only when
// insecure. go-containerregistry would also try plain HTTP for RFC 1918
// addresses and *.local names; the transport refuses those requests.
func (c *Client) PlainHTTP(host string) bool {
	return ctltransport.Loopback(host) || c.insecureHost(host)
}

// insecureHost reports whether host is insecure, as docker's
// insecure-registries mean it: named (WithInsecure, or a mirror written
// http://) or, for an IP address, inside an insecure CIDR. Such a host is
// reached over HTTPS without verifying its certificate, or over plain HTTP.
// Loopback hosts not named keep their certificates verified (docker counts
// 127.0.0.0/8 as insecure by default; ctl only lets them use plain HTTP).
func (c *Client) insecureHost(host string) bool {
	host = strings.ToLower(host)
	if c.insecure[host] {
		return true
	}
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if c.insecure[h] && !strings.Contains(host, ":") {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	for _, n := range c.insecureNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// nameOptions are the go-containerregistry name options for host.
func (c *Client) nameOptions(host string) []name.Option {
	if c.PlainHTTP(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Ref converts r to a go-containerregistry reference for the wire.
func (c *Client) Ref(r reference.Reference) (name.Reference, error) {
	return r.ToName(c.nameOptions(r.Registry())...)
}

// Repo converts r to a go-containerregistry repository for the wire.
func (c *Client) Repo(r reference.Reference) (name.Repository, error) {
	return r.RepositoryName(c.nameOptions(r.Registry())...)
}

// WithJobs returns a copy of c that moves n blobs at once (n < 1 keeps c's;
// a new Client moves DefaultJobs).
func (c *Client) WithJobs(n int) *Client {
	cc := *c
	if n > 0 {
		cc.jobs = n
	}
	return &cc
}
