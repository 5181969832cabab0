package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestAccept lists every manifest media type ctl understands. Sending
// all of them matters: with only the Docker v2 type, distribution answers a
// multi-arch tag with one platform's digest (reliability.md, "Deleting
// exactly what was asked").
var manifestAccept = strings.Join([]string{
	string(types.OCIImageIndex),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestList),
	string(types.DockerManifestSchema2),
}, ",")

// manifestURL is /v2/REPO/manifests/ID.
func (s *session) manifestURL(id string) string {
	return s.url(s.repo+"/manifests/"+id, "").String()
}

// manifestHead is what a HEAD (or GET) of a manifest says about it.
type manifestHead struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Size      int64
}

// head resolves id (tag or digest) with one HEAD carrying every manifest
// media type; a registry that omits Docker-Content-Digest is asked again
// with GET and the digest computed from the body.
func (s *session) head(ctx context.Context, id string) (manifestHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.manifestURL(id), nil)
	if err != nil {
		return manifestHead{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.do(req, http.StatusOK)
	if err != nil {
		return manifestHead{}, err
	}
	resp.Body.Close()
	h, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest"))
	if err != nil || isDigest(id) && !strings.HasPrefix(id, "sha256:") {
		// Without a digest, or for a sha384 or sha512 one (the header
		// gives sha256 or echoes the question), only the content can say.
		_, mh, err := s.get(ctx, id)
		return mh, err
	}
	if isDigest(id) && h.String() != id {
		return manifestHead{}, fmt.Errorf("%w: %s/%s@%s: registry answered for digest %s", ErrDigestMismatch, s.host, s.repo, id, h)
	}
	return manifestHead{Digest: h, MediaType: types.MediaType(resp.Header.Get("Content-Type")), Size: resp.ContentLength}, nil
}

// digestOf returns the digest id (a tag or digest) points at, or the zero
// hash when it does not exist (session.absent).
func (s *session) digestOf(ctx context.Context, id string) (v1.Hash, error) {
	mh, err := s.head(ctx, id)
	if s.absent(err) {
		return v1.Hash{}, nil
	}
	return mh.Digest, err
}

// absent reports whether err says that what was asked for does not exist
// in the registry. A mirror's not found says only that the mirror lacks
// it: that stays an error, so the read falls through to the next source
// instead of reporting as gone what the registry may well have.
func (s *session) absent(err error) bool {
	return !s.mirror && errors.Is(err, ErrNotFound)
}

// get fetches the manifest id as the registry stored it, bounded in size and
// verified: against the digest when id is one, else against
// Docker-Content-Digest when the registry sends a sha256 one.
func (s *session) get(ctx context.Context, id string) ([]byte, manifestHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.manifestURL(id), nil)
	if err != nil {
		return nil, manifestHead{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.do(req, http.StatusOK)
	if err != nil {
		return nil, manifestHead{}, err
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, maxManifestBytes, "manifest")
	if err != nil {
		return nil, manifestHead{}, fmt.Errorf("reading manifest %s/%s:%s: %w", s.host, s.repo, id, err)
	}
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	want := resp.Header.Get("Docker-Content-Digest")
	if isDigest(id) {
		want = id
	}
	switch got, ok := contentDigest(want, b); {
	case ok && got != want:
		return nil, manifestHead{}, fmt.Errorf("%w: manifest %s/%s %s: content has digest %s, registry said %s", ErrDigestMismatch, s.host, s.repo, id, got, want)
	case !ok && isDigest(id):
		return nil, manifestHead{}, fmt.Errorf("manifest %s/%s %s: cannot verify a digest of that algorithm", s.host, s.repo, id)
	}
	mt, err := checkMediaType(b, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, manifestHead{}, fmt.Errorf("manifest %s/%s %s: %w", s.host, s.repo, id, err)
	}
	return b, manifestHead{Digest: h, MediaType: mt, Size: int64(len(b))}, nil
}

// isDigest reports whether id, a tag or a digest, is a digest (tags have
// no ':').
func isDigest(id string) bool { return strings.Contains(id, ":") }

// contentDigest is the digest of b in the algorithm of digest want
// (sha256, sha384 or sha512, those references accept), and false for an
// empty or other want: a pinned manifest is checked with its own
// algorithm, never taken unverified.
func contentDigest(want string, b []byte) (string, bool) {
	alg, _, _ := strings.Cut(want, ":")
	var sum []byte
	switch alg {
	case "sha256":
		s := sha256.Sum256(b)
		sum = s[:]
	case "sha384":
		s := sha512.Sum384(b)
		sum = s[:]
	case "sha512":
		s := sha512.Sum512(b)
		sum = s[:]
	default:
		return "", false
	}
	return alg + ":" + hex.EncodeToString(sum), true
}

// put stores raw, a manifest of media type mt and digest want, under id (a
// tag or digest) and checks the digest the registry reports back.
func (s *session) put(ctx context.Context, id string, raw []byte, mt types.MediaType, want v1.Hash) error {
	_, err := s.putManifest(ctx, id, raw, mt, want)
	return err
}

// putManifest is put, also reporting whether the registry said it indexed
// the manifest's subject for the referrers API (the OCI-Subject header).
func (s *session) putManifest(ctx context.Context, id string, raw []byte, mt types.MediaType, want v1.Hash) (subjectIndexed bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.manifestURL(id), bytes.NewReader(raw))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", string(mt))
	resp, err := s.do(req, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want.String() {
		return false, fmt.Errorf("%w: registry %s stored %s:%s as %s, expected %s",
			ErrDigestMismatch, s.host, s.repo, id, got, want)
	}
	return resp.Header.Get("OCI-Subject") != "", nil
}
