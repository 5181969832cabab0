package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/connhelper"
	dcontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	dopts "github.com/docker/cli/opts"
	"github.com/moby/moby/client"
)

// DefaultHost is where docker looks when nothing says otherwise.
const DefaultHost = "unix:///var/run/docker.sock"

// Where an endpoint was found, as Endpoint.Source says it.
const (
	SourceEnv     = "DOCKER_HOST"
	SourceDefault = "default"
)

// Options say where to look for an engine.
type Options struct {
	// ConfigDir is the docker config directory (contexts and config.json);
	// "" is docker's default ($DOCKER_CONFIG, else ~/.docker).
	ConfigDir string
	// Getenv reads the environment; nil is os.Getenv.
	Getenv func(string) string
	// UserAgent is sent with every request; "" keeps the client's.
	UserAgent string
	// IdleTimeout bounds how long a save stream may send nothing, and a
	// load neither read its archive nor answer (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
}

// Endpoint is where an engine is expected.
type Endpoint struct {
	// Host is the engine's address: unix:///PATH, tcp://HOST:PORT, ...
	Host string
	// Source says where Host came from: SourceEnv, SourceDefault, or
	// `docker context "NAME"`.
	Source string

	opts []client.Opt
}

// viaSSH tells an endpoint reached through docker's ssh helper.
func (e Endpoint) viaSSH() bool { return strings.HasPrefix(e.Host, "ssh://") }

// String is the endpoint for messages: the host and where it came from.
func (e Endpoint) String() string {
	switch e.Source {
	case SourceEnv:
		return e.Host + " (from DOCKER_HOST)"
	case SourceDefault:
		return e.Host + " (docker's default: DOCKER_HOST is not set and no docker context is selected)"
	}
	return e.Host + " (from " + e.Source + ")"
}

// Find says where the engine is, in docker's order (see the package doc).
// It contacts nothing; an error means the configuration itself is wrong
// (a context that does not exist, TLS files that cannot be read).
func Find(o Options) (Endpoint, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := o.ConfigDir
	if dir == "" {
		dir = config.Dir()
	}
	if host := getenv("DOCKER_HOST"); host != "" {
		return defaultEndpoint(host, SourceEnv, dir, getenv)
	}
	name, source := getenv("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
	if name == "" {
		// Read as every read of it is (bounded, a regular file only); an
		// unreadable one is the user's file (auth.ErrConfig, exit 2).
		cf, err := auth.NewKeychain(dir).Load()
		if err != nil {
			return Endpoint{}, err
		}
		name, source = cf.CurrentContext, "currentContext in "+filepath.Join(dir, config.ConfigFileName)
	}
	if name == "" || name == "default" {
		return defaultEndpoint("", SourceDefault, dir, getenv)
	}
	return contextEndpoint(dir, name, source)
}

// defaultEndpoint is docker's default context, as the docker CLI makes
// it: host (DOCKER_HOST, or "" for docker's default) parsed as docker
// parses it (tcp://HOST gets port 2375, none with TLS on is
// tcp://localhost:2376; ssh://USER@HOST goes through docker's ssh helper), with docker's TLS variables:
// DOCKER_TLS_VERIFY (any value) turns TLS on and verifies the server,
// DOCKER_TLS (any value) turns it on without verifying; ca.pem, and
// cert.pem and key.pem when they exist, come from DOCKER_CERT_PATH
// (default: the docker config directory).
func defaultEndpoint(host, source, dir string, getenv func(string) string) (Endpoint, error) {
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	useTLS := verify || getenv("DOCKER_TLS") != ""
	what := "DOCKER_HOST " + host
	if host == "" {
		what = "docker's default engine"
	}
	h, err := dopts.ParseHost(useTLS, host)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	ep := docker.Endpoint{EndpointMeta: docker.EndpointMeta{Host: h, SkipTLSVerify: useTLS && !verify}}
	if useTLS {
		certs := getenv("DOCKER_CERT_PATH")
		if certs == "" {
			certs = dir
		}
		// A client certificate is optional, as with docker; the CA is not.
		cert, key := filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem")
		if _, err := os.Stat(cert); err != nil {
			cert = ""
		}
		if _, err := os.Stat(key); err != nil {
			key = ""
		}
		if ep.TLSData, err = dcontext.TLSDataFromFiles(filepath.Join(certs, "ca.pem"), cert, key); err != nil {
			return Endpoint{}, fmt.Errorf("%w: %s: TLS (DOCKER_TLS_VERIFY, DOCKER_TLS): %v", ErrEngine, what, err)
		}
	}
	opts, err := clientOpts(ep)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	return Endpoint{Host: h, Source: source, opts: opts}, nil
}

// contextEndpoint reads a docker context with docker's own context store
// (contexts/meta/<sha256 of the name>/meta.json and contexts/tls/...).
func contextEndpoint(dir, name, source string) (Endpoint, error) {
	cfg := store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(docker.DockerEndpoint, func() any { return &docker.EndpointMeta{} }),
	)
	s := store.New(filepath.Join(dir, "contexts"), cfg)
	what := fmt.Sprintf("docker context %q (%s)", name, source)
	md, err := s.GetMetadata(name)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	meta, err := docker.EndpointFromContext(md)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	ep, err := docker.WithTLSData(s, name, meta)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	opts, err := clientOpts(ep)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %s: %v", ErrEngine, what, err)
	}
	host := meta.Host
	if host == "" {
		host = DefaultHost
		opts = append([]client.Opt{client.WithHost(DefaultHost)}, opts...)
	}
	return Endpoint{Host: host, Source: fmt.Sprintf("docker context %q", name), opts: opts}, nil
}

// clientOpts are the API client's options for ep, as docker's own
// (ClientOpts), with the connection of a helper (ssh://) made to say why
// it broke (sshReasonConn).
func clientOpts(ep docker.Endpoint) ([]client.Opt, error) {
	opts, err := ep.ClientOpts()
	if err != nil || ep.Host == "" {
		return opts, err
	}
	helper, err := connhelper.GetConnectionHelper(ep.Host)
	if err != nil || helper == nil {
		return opts, err
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := helper.Dialer(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return sshReasonConn{c}, nil
	}
	return append(opts, client.WithDialContext(dial)), nil
}

// sshReasonConn is a helper command's connection (docker's commandconn)
// whose write that meets the command gone (a broken pipe) reads once, so
// the error is the helper's own: commandconn gives the command's exit and
// stderr ("ssh: connect to host ...: Connection refused") to a read that
// meets the end, not to a write. Without it, whether a failing ssh said
// why was a race between its exit and the first request.
type sshReasonConn struct{ net.Conn }

func (c sshReasonConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		if _, rerr := c.Conn.Read(make([]byte, 1)); rerr != nil && rerr != io.EOF {
			return n, rerr
		}
	}
	return n, err
}
