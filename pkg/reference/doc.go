// Package reference parses and normalises container image references such
// as "nginx", "diamol/golang:2e" or
// "registry.local:5000/team/app:v1@sha256:…".
//
// The grammar and normalisation are those of docker, that is of
// distribution/reference's ParseNormalizedNamed, but the parser is a
// hand-written single pass with no regular expressions, and [Parse] does not
// allocate for valid input.
//
// # Grammar
//
//	reference         := name [ ":" tag ] [ "@" digest ]
//	name              := [ domain "/" ] path
//	domain            := host [ ":" port-number ]
//	host              := domain-name | "[" ipv6 "]"
//	domain-name       := domain-component [ "." domain-component ]*
//	domain-component  := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	ipv6              := /[a-fA-F0-9:]+/
//	port-number       := /[0-9]+/
//	path              := path-component [ "/" path-component ]*
//	path-component    := alpha-numeric [ separator alpha-numeric ]*
//	alpha-numeric     := /[a-z0-9]+/
//	separator         := /[_.]|__|[-]+/
//	tag               := /[\w][\w.-]{0,127}/
//	digest            := "sha256:" /[a-f0-9]{64}/
//	                   | "sha384:" /[a-f0-9]{96}/
//	                   | "sha512:" /[a-f0-9]{128}/
//	identifier        := /[a-f0-9]{64}/
//
// (distribution's grammar allows any digest of the form
// algorithm ":" hex{32,}, but go-digest then rejects every digest except
// the three above, so this is what is actually accepted.)
//
// # Normalisation
//
// When the name contains a "/", its first component is the domain when it is
// "localhost", contains a "." or a ":", or contains an uppercase letter
// (uppercase is allowed in the host but never in the path). Otherwise the
// domain is "docker.io" (Docker Hub) and the whole name is the path. On
// Docker Hub a single-component path gets the "library/" account of the
// official images: "nginx" is "docker.io/library/nginx".
//
// "index.docker.io" is Docker Hub's legacy name; like distribution, Parse
// reports it as "docker.io". "registry-1.docker.io" is the host that
// actually serves Docker Hub's registry API; distribution does not
// normalise it, but Parse does: "registry-1.docker.io/nginx" has
// Registry "docker.io" and Repository "library/nginx", and its Name, String,
// Canonical and Familiar forms are those of "docker.io/nginx". It is
// accepted and rejected exactly as distribution does, including its name
// length, which distribution counts without "library/" for this host (so
// Repository can then be up to 263 characters long). Other
// spellings ("Docker.io", "index.docker.io:443") are not Docker Hub,
// as in distribution.
//
// A reference with neither tag nor digest means the "latest" tag
// ([Reference.DefaultedTag], [Reference.Canonical]); a reference may carry
// both a tag and a digest, in which case the registry is asked for the
// digest ([Reference.ToName]).
//
// # Limits and rejections
//
//   - The path, counted with any implied "library/" but without the domain,
//     is at most 255 characters ([ErrNameTooLong]).
//   - A tag is at most 128 characters ([ErrTagTooLong]).
//   - A reference that is exactly 64 lowercase hex digits is rejected as
//     ambiguous with an image ID ([ErrAmbiguousImageID]); with a domain or a
//     tag it is an ordinary name.
//   - Errors are [*Error] values: their message is
//     `invalid reference "INPUT": DETAIL`, with 1-based byte positions where
//     a character is at fault, and they match [ErrInvalid] and a specific
//     sentinel under errors.Is.
//
// # A quirk kept for compatibility
//
// When the first component looks like a host (it contains a ".") but is not
// a valid one because it contains an "_", as in "my_reg.example.com/app",
// distribution's regular expression matches the whole string as a path with
// no domain at all. Parse does the same: [Reference.Registry] is "" and
// [Reference.Repository] is "my_reg.example.com/app". [Reference.ToName]
// then uses go-containerregistry's default registry.
package reference
