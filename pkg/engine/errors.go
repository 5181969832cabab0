// Package engine reaches a container engine (Docker, or Podman's
// Docker-compatible service) through the Docker Engine API, found the way
// the docker CLI finds it, and moves images between it and ctl's store.
//
// Where the engine is, in docker's order:
//
//  1. DOCKER_HOST (unix://PATH, tcp://HOST:PORT, ssh://USER@HOST), parsed
//     and connected to with the docker CLI's own code; over tcp,
//     DOCKER_TLS_VERIFY (any value) turns on TLS with the server verified,
//     DOCKER_TLS without, with ca.pem, cert.pem and key.pem from
//     DOCKER_CERT_PATH (default: the docker config directory);
//  2. the docker context named by DOCKER_CONTEXT, else the config's
//     currentContext ("default" names the default socket): its metadata
//     and TLS files under the config directory's contexts/, read with
//     docker's own context store;
//  3. unix:///var/run/docker.sock.
//
// Nothing in ctl reaches an engine except through Open, which only the
// engine commands call.
package engine

import "errors"

// Sentinel errors of the package.
var (
	// ErrUnreachable: nothing answers where the engine should be (no
	// socket, connection refused). The error names where ctl looked.
	ErrUnreachable = errors.New("no container engine reachable")
	// ErrNotFound: the engine has no image of that name.
	ErrNotFound = errors.New("no such image in the engine")
	// ErrEngine: the engine (or what answers in its place) failed: an
	// error status, an answer that is not the Engine API, an archive that
	// broke off or cannot be loaded.
	ErrEngine = errors.New("container engine error")
)
