package registry

import (
	"context"
	"net/http"
	"net/url"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// sameRepoMounts is what each host is known to do with a mount from the
// pushed repository itself (probeBlob). The spec lets a registry answer
// any mount it does not perform with 202 and an upload session, and many
// do for this one (they only mount across repositories, or never): such
// a 202 says nothing of whether the repository has the blob. So nothing
// is guessed: a host is proven once it answered 201 for a blob a HEAD
// showed the repository has, disproven once it answered otherwise for
// such a blob (or answered a probe neither 201 nor 202), and unknown
// until then. A proven host gets the probe alone, one round trip per
// blob instead of HEAD and POST; a disproven one HEAD, then POST; an
// unknown one the HEAD and the probe at once, so finding out costs no
// round trip (see pusher.have).
type sameRepoMounts struct {
	proven, disproven hostSet
}

type mountState int

const (
	mountUnknown mountState = iota
	mountProven
	mountDisproven
)

func (m *sameRepoMounts) state(host string) mountState {
	switch {
	case m.disproven.has(host):
		return mountDisproven
	case m.proven.has(host):
		return mountProven
	}
	return mountUnknown
}

// prove records that host mounts from the pushed repository itself, or
// with proven false that it does not.
func (m *sameRepoMounts) prove(host string, proven bool) {
	if proven {
		m.disproven.remove(host)
		m.proven.add(host)
		return
	}
	m.proven.remove(host)
	m.disproven.add(host)
}

// have reports whether the repository holds blob h, as the host's
// sameRepoMounts state says to ask, and, when it does not, may return an
// upload session opened on the way (loc). from is the repository a mount
// will be tried from; with one, the blob is HEADed (its POST mounts).
func (p *pusher) have(ctx context.Context, h v1.Hash, from string) (exists bool, loc string, err error) {
	host, m := p.s.host, p.c.sameRepoMount
	state := m.state(host)
	if from != "" || state == mountDisproven {
		exists, err := p.s.headBlob(ctx, h)
		return exists, "", err
	}
	if state == mountProven {
		exists, loc, ok, err := p.s.probeBlob(ctx, h)
		if err != nil || ok {
			return exists, loc, err
		}
		m.prove(host, false)
		exists, err = p.s.headBlob(ctx, h)
		return exists, "", err
	}
	// Unknown: the HEAD and the probe go out together.
	var (
		had     bool
		headErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		had, headErr = p.s.headBlob(ctx, h)
	}()
	mounted, loc, ok, err := p.s.probeBlob(ctx, h)
	<-done
	if err == nil {
		err = headErr
	}
	switch {
	case err != nil:
		p.dropUpload(loc)
		return false, "", err
	case !ok:
		m.prove(host, false)
		return had, "", nil
	case had:
		// A 201 for a blob the repository has proves the host; a 202
		// disproves it, and its session is not needed.
		m.prove(host, mounted)
		p.dropUpload(loc)
		return true, "", nil
	}
	// The repository lacked the blob: a 202 is its upload session, and
	// a 201 (another push may have sent it meanwhile) says it is there
	// now, without proving anything of the host.
	return mounted, loc, nil
}

// dropUpload cancels the upload session at loc, if any, in the
// background: Push waits for it, the blob does not.
func (p *pusher) dropUpload(loc string) {
	if loc == "" {
		return
	}
	p.inflight.Add(1)
	go func() {
		defer p.inflight.Done()
		p.s.cancelUpload(loc)
	}()
}

// probeBlob asks the session's repository to mount blob h from itself. It
// returns exists when the registry answered 201 with the blob's digest
// (the blob is in the repository), else the upload session the registry
// opened (202 with a Location). ok is false when the answer was neither.
func (s *session) probeBlob(ctx context.Context, h v1.Hash) (exists bool, loc string, ok bool, err error) {
	q := url.Values{"mount": {h.String()}, "from": {s.repo}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(s.repo+"/blobs/uploads/", q).String(), nil)
	if err != nil {
		return false, "", false, err
	}
	resp, err := s.send(req)
	if err != nil {
		return false, "", false, classify(s.host, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusCreated && resp.Header.Get("Docker-Content-Digest") == h.String():
		return true, "", true, nil
	case resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") != "":
		loc, err := s.location(resp)
		return false, loc, err == nil, nil
	}
	return false, "", false, nil
}
