package reference

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Reference is a parsed, normalised image reference. Obtain one from
// [Parse] or [ParseRepository]; the zero value is not a valid reference.
//
// References are small values that are cheap to copy. Two references to the
// same image written differently ("nginx", "docker.io/library/nginx",
// "index.docker.io/nginx") compare equal with ==.
type Reference struct {
	domain  string // registry host[:port]; "docker.io" for Docker Hub
	path    string // repository path, without the implied "library/"
	tag     string // tag as written, or ""
	digest  string // "algorithm:hex", or ""
	library bool   // path is a Docker Hub official image: prefix "library/"
}

// Registry returns the registry host and optional port, e.g. "docker.io"
// or "registry.local:5000", with the case of the host as written. It is
// "docker.io" for Docker Hub, however written ("index.docker.io" and
// "registry-1.docker.io" included). It is "" only for the names that
// distribution/reference accepts without a domain (see the package
// documentation).
func (r Reference) Registry() string { return r.domain }

// Repository returns the repository path without the registry, e.g.
// "library/nginx" or "diamol/golang".
func (r Reference) Repository() string {
	if r.library {
		return officialPrefix + r.path
	}
	return r.path
}

// Account returns the first component of the repository path when the path
// has more than one component ("library" for nginx, "diamol" for
// diamol/golang), and "" otherwise.
func (r Reference) Account() string {
	if r.library {
		return officialAccount
	}
	if i := strings.IndexByte(r.path, '/'); i >= 0 {
		return r.path[:i]
	}
	return ""
}

// Tag returns the tag as written, or "" if the reference has none.
func (r Reference) Tag() string { return r.tag }

// Digest returns the digest, e.g. "sha256:…", or "" if the reference has
// none.
func (r Reference) Digest() string { return r.digest }

// Name returns the fully qualified repository name, registry/repository,
// e.g. "docker.io/library/nginx".
func (r Reference) Name() string { return r.format(false, false, false) }

// DefaultedTag returns the tag, or "latest" when the reference has neither
// a tag nor a digest. It is "" for a digest-only reference.
func (r Reference) DefaultedTag() string {
	if r.tag == "" && r.digest == "" {
		return defaultTagString
	}
	return r.tag
}

// Canonical returns the fully qualified reference with ":latest" added when
// it has neither a tag nor a digest, e.g. "docker.io/library/nginx:latest".
// A reference with both keeps both: "name:tag@digest". This is
// distribution/reference's TagNameOnly(ref).String().
func (r Reference) Canonical() string { return r.format(false, true, true) }

// String returns the fully qualified reference as given, without adding a
// default tag, e.g. "docker.io/library/nginx" or
// "docker.io/library/nginx:1.25".
func (r Reference) String() string { return r.format(false, true, false) }

// Familiar returns docker's familiar form of the reference as given
// (distribution/reference's FamiliarString): the "docker.io/" registry and
// the "library/" account are dropped, e.g. "nginx", "nginx:1.25",
// "diamol/golang", "localhost:5000/a/b:v1".
//
// As in docker, the familiar form does not always parse back to r: that of
// "docker.io/0.0/app" is "0.0/app", whose first component is then taken for
// a registry host, and that of "docker.io/library/<64 hex digits>" is the
// bare hex string, which [Parse] rejects as ambiguous with an image ID.
func (r Reference) Familiar() string { return r.format(true, true, false) }

// FamiliarName returns the familiar form of the repository name only, e.g.
// "nginx", "diamol/golang" or "localhost:5000/a/b".
func (r Reference) FamiliarName() string { return r.format(true, false, false) }

// format renders the reference. familiar drops Docker Hub's registry and
// "library/"; withRef appends the tag and digest; defTag adds ":latest"
// when there is neither. It returns r.path itself, without allocating,
// when nothing needs to be added.
func (r Reference) format(familiar, withRef, defTag bool) string {
	domain, library := r.domain, r.library
	if familiar && domain == hubDomain {
		domain, library = "", false
	}
	tag, digest := "", ""
	if withRef {
		tag, digest = r.tag, r.digest
		if defTag && tag == "" && digest == "" {
			tag = defaultTagString
		}
	}
	n := len(r.path)
	if domain != "" {
		n += len(domain) + 1
	}
	if library {
		n += len(officialPrefix)
	}
	if tag != "" {
		n += 1 + len(tag)
	}
	if digest != "" {
		n += 1 + len(digest)
	}
	if n == len(r.path) {
		return r.path
	}
	var b strings.Builder
	b.Grow(n)
	if domain != "" {
		b.WriteString(domain)
		b.WriteByte('/')
	}
	if library {
		b.WriteString(officialPrefix)
	}
	b.WriteString(r.path)
	if tag != "" {
		b.WriteByte(':')
		b.WriteString(tag)
	}
	if digest != "" {
		b.WriteByte('@')
		b.WriteString(digest)
	}
	return b.String()
}

// WithTag returns a copy of r with its tag replaced by tag. Any digest is
// kept. It fails with [ErrInvalidTag] or [ErrTagTooLong] when tag is not
// valid (see [ValidTag]).
func (r Reference) WithTag(tag string) (Reference, error) {
	if !ValidTag(tag) {
		input := r.Name() + ":" + tag
		if len(tag) > TagMaxLength {
			return Reference{}, parseError(input, ErrTagTooLong, "tag %q is longer than %d characters", tag, TagMaxLength)
		}
		return Reference{}, parseError(input, ErrInvalidTag, "%q is not a valid tag", tag)
	}
	r.tag = tag
	return r, nil
}

// WithDigest returns a copy of r with its digest replaced by d, e.g.
// "sha256:…". Any tag is kept. It fails with [ErrInvalidDigest] unless d is
// a sha256, sha384 or sha512 digest in lowercase hexadecimal.
func (r Reference) WithDigest(d string) (Reference, error) {
	if !validDigest(d) {
		return Reference{}, parseError(r.Name()+"@"+d, ErrInvalidDigest, "%q is not a valid digest", d)
	}
	r.digest = d
	return r, nil
}

// IsDockerHub reports whether the reference names a Docker Hub repository,
// that is whether [Reference.Registry] is "docker.io".
func (r Reference) IsDockerHub() bool { return r.domain == hubDomain }

// ToName converts r to a go-containerregistry reference for use on the
// wire: a [name.Digest] when r has a digest (even if it also has a tag,
// which the registry cannot check against the digest), else a [name.Tag]
// with [Reference.DefaultedTag]. opts are passed to [name.NewRegistry]
// (e.g. [name.Insecure]).
func (r Reference) ToName(opts ...name.Option) (name.Reference, error) {
	repo, err := r.RepositoryName(opts...)
	if err != nil {
		return nil, err
	}
	if r.digest != "" {
		return repo.Digest(r.digest), nil
	}
	return repo.Tag(r.DefaultedTag()), nil
}

// RepositoryName converts r's repository (ignoring any tag or digest) to a
// go-containerregistry [name.Repository]. opts are passed to
// [name.NewRegistry]; for the rare reference without a registry (see the
// package documentation) go-containerregistry's default registry applies.
func (r Reference) RepositoryName(opts ...name.Option) (name.Repository, error) {
	if r.path == "" {
		return name.Repository{}, fmt.Errorf("%w: zero Reference", ErrNameEmpty)
	}
	reg, err := name.NewRegistry(r.domain, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("reference %q: %w", r.String(), err)
	}
	return reg.Repo(r.Repository()), nil
}
