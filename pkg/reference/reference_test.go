package reference

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	long247 := strings.Repeat("a", 247)
	tag128 := strings.Repeat("t", 128)
	tests := []struct {
		in           string // input to Parse
		registry     string // Registry()
		repository   string // Repository()
		account      string // Account()
		tag          string // Tag()
		digest       string // Digest()
		defaulted    string // DefaultedTag()
		str          string // String(); Name() is String() minus tag and digest
		canonical    string // Canonical()
		familiar     string // Familiar()
		familiarName string // FamiliarName()
		hub          bool   // IsDockerHub()
	}{
		{in: "nginx", registry: "docker.io", repository: "library/nginx", account: "library", defaulted: "latest",
			str: "docker.io/library/nginx", canonical: "docker.io/library/nginx:latest", familiar: "nginx", familiarName: "nginx", hub: true},
		{in: "nginx:1.25", registry: "docker.io", repository: "library/nginx", account: "library", tag: "1.25", defaulted: "1.25",
			str: "docker.io/library/nginx:1.25", canonical: "docker.io/library/nginx:1.25", familiar: "nginx:1.25", familiarName: "nginx", hub: true},
		{in: "diamol/golang", registry: "docker.io", repository: "diamol/golang", account: "diamol", defaulted: "latest",
			str: "docker.io/diamol/golang", canonical: "docker.io/diamol/golang:latest", familiar: "diamol/golang", familiarName: "diamol/golang", hub: true},
		{in: "docker.io/nginx", registry: "docker.io", repository: "library/nginx", account: "library", defaulted: "latest",
			str: "docker.io/library/nginx", canonical: "docker.io/library/nginx:latest", familiar: "nginx", familiarName: "nginx", hub: true},
		{in: "docker.io/library/nginx:1", registry: "docker.io", repository: "library/nginx", account: "library", tag: "1", defaulted: "1",
			str: "docker.io/library/nginx:1", canonical: "docker.io/library/nginx:1", familiar: "nginx:1", familiarName: "nginx", hub: true},
		{in: "library/a/b", registry: "docker.io", repository: "library/a/b", account: "library", defaulted: "latest",
			str: "docker.io/library/a/b", canonical: "docker.io/library/a/b:latest", familiar: "library/a/b", familiarName: "library/a/b", hub: true},
		{in: "index.docker.io/nginx", registry: "docker.io", repository: "library/nginx", account: "library", defaulted: "latest",
			str: "docker.io/library/nginx", canonical: "docker.io/library/nginx:latest", familiar: "nginx", familiarName: "nginx", hub: true},
		// Deliberate deviation from distribution (which keeps the host and adds no "library/").
		{in: "registry-1.docker.io/nginx:x", registry: "docker.io", repository: "library/nginx", account: "library", tag: "x", defaulted: "x",
			str: "docker.io/library/nginx:x", canonical: "docker.io/library/nginx:x", familiar: "nginx:x", familiarName: "nginx", hub: true},
		{in: "Docker.io/nginx", registry: "Docker.io", repository: "nginx", defaulted: "latest",
			str: "Docker.io/nginx", canonical: "Docker.io/nginx:latest", familiar: "Docker.io/nginx", familiarName: "Docker.io/nginx"},
		{in: "localhost/foo", registry: "localhost", repository: "foo", defaulted: "latest",
			str: "localhost/foo", canonical: "localhost/foo:latest", familiar: "localhost/foo", familiarName: "localhost/foo"},
		{in: "localhost:5000/foo", registry: "localhost:5000", repository: "foo", defaulted: "latest",
			str: "localhost:5000/foo", canonical: "localhost:5000/foo:latest", familiar: "localhost:5000/foo", familiarName: "localhost:5000/foo"},
		{in: "localhost:5000/a/b:v1", registry: "localhost:5000", repository: "a/b", account: "a", tag: "v1", defaulted: "v1",
			str: "localhost:5000/a/b:v1", canonical: "localhost:5000/a/b:v1", familiar: "localhost:5000/a/b:v1", familiarName: "localhost:5000/a/b"},
		// Without a slash, "localhost:5000" is the official image "localhost" with tag "5000".
		{in: "localhost:5000", registry: "docker.io", repository: "library/localhost", account: "library", tag: "5000", defaulted: "5000",
			str: "docker.io/library/localhost:5000", canonical: "docker.io/library/localhost:5000", familiar: "localhost:5000", familiarName: "localhost", hub: true},
		{in: "[::1]:5000/a", registry: "[::1]:5000", repository: "a", defaulted: "latest",
			str: "[::1]:5000/a", canonical: "[::1]:5000/a:latest", familiar: "[::1]:5000/a", familiarName: "[::1]:5000/a"},
		{in: "[2001:DB8::1]/r:t", registry: "[2001:DB8::1]", repository: "r", tag: "t", defaulted: "t",
			str: "[2001:DB8::1]/r:t", canonical: "[2001:DB8::1]/r:t", familiar: "[2001:DB8::1]/r:t", familiarName: "[2001:DB8::1]/r"},
		// Uppercase hosts are kept as written.
		{in: "Registry.Local:5000/team/app:V1", registry: "Registry.Local:5000", repository: "team/app", account: "team", tag: "V1", defaulted: "V1",
			str: "Registry.Local:5000/team/app:V1", canonical: "Registry.Local:5000/team/app:V1", familiar: "Registry.Local:5000/team/app:V1", familiarName: "Registry.Local:5000/team/app"},
		// An uppercase first component is a host even without '.' or ':'.
		{in: "MyUser/app", registry: "MyUser", repository: "app", defaulted: "latest",
			str: "MyUser/app", canonical: "MyUser/app:latest", familiar: "MyUser/app", familiarName: "MyUser/app"},
		{in: "nginx@" + sha256, registry: "docker.io", repository: "library/nginx", account: "library", digest: sha256,
			str: "docker.io/library/nginx@" + sha256, canonical: "docker.io/library/nginx@" + sha256, familiar: "nginx@" + sha256, familiarName: "nginx", hub: true},
		{in: "example.com/a/b:1.0@" + sha256, registry: "example.com", repository: "a/b", account: "a", tag: "1.0", digest: sha256, defaulted: "1.0",
			str: "example.com/a/b:1.0@" + sha256, canonical: "example.com/a/b:1.0@" + sha256, familiar: "example.com/a/b:1.0@" + sha256, familiarName: "example.com/a/b"},
		{in: "x@sha512:" + hex128, registry: "docker.io", repository: "library/x", account: "library", digest: "sha512:" + hex128,
			str: "docker.io/library/x@sha512:" + hex128, canonical: "docker.io/library/x@sha512:" + hex128, familiar: "x@sha512:" + hex128, familiarName: "x", hub: true},
		// 64 hex digits are a name when qualified or tagged.
		{in: imgID + ":t", registry: "docker.io", repository: "library/" + imgID, account: "library", tag: "t", defaulted: "t",
			str: "docker.io/library/" + imgID + ":t", canonical: "docker.io/library/" + imgID + ":t", familiar: imgID + ":t", familiarName: imgID, hub: true},
		// 247 characters plus the implied "library/" is exactly 255.
		{in: long247, registry: "docker.io", repository: "library/" + long247, account: "library", defaulted: "latest",
			str: "docker.io/library/" + long247, canonical: "docker.io/library/" + long247 + ":latest", familiar: long247, familiarName: long247, hub: true},
		{in: "e.com/" + strings.Repeat("b", 255), registry: "e.com", repository: strings.Repeat("b", 255), defaulted: "latest",
			str: "e.com/" + strings.Repeat("b", 255), canonical: "e.com/" + strings.Repeat("b", 255) + ":latest",
			familiar: "e.com/" + strings.Repeat("b", 255), familiarName: "e.com/" + strings.Repeat("b", 255)},
		{in: "a:" + tag128, registry: "docker.io", repository: "library/a", account: "library", tag: tag128, defaulted: tag128,
			str: "docker.io/library/a:" + tag128, canonical: "docker.io/library/a:" + tag128, familiar: "a:" + tag128, familiarName: "a", hub: true},
		{in: "a-b--c/d__e_f.g", registry: "docker.io", repository: "a-b--c/d__e_f.g", account: "a-b--c", defaulted: "latest",
			str: "docker.io/a-b--c/d__e_f.g", canonical: "docker.io/a-b--c/d__e_f.g:latest", familiar: "a-b--c/d__e_f.g", familiarName: "a-b--c/d__e_f.g", hub: true},
		// distribution's quirk: an invalid host with '_' becomes part of a domain-less path.
		{in: "a_b.c/d", registry: "", repository: "a_b.c/d", account: "a_b.c", defaulted: "latest",
			str: "a_b.c/d", canonical: "a_b.c/d:latest", familiar: "a_b.c/d", familiarName: "a_b.c/d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			name := tt.str
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i]
			}
			if tt.tag != "" {
				name = strings.TrimSuffix(name, ":"+tt.tag)
			}
			for _, c := range []struct{ what, got, want string }{
				{"Registry", r.Registry(), tt.registry},
				{"Repository", r.Repository(), tt.repository},
				{"Account", r.Account(), tt.account},
				{"Tag", r.Tag(), tt.tag},
				{"Digest", r.Digest(), tt.digest},
				{"DefaultedTag", r.DefaultedTag(), tt.defaulted},
				{"Name", r.Name(), name},
				{"String", r.String(), tt.str},
				{"Canonical", r.Canonical(), tt.canonical},
				{"Familiar", r.Familiar(), tt.familiar},
				{"FamiliarName", r.FamiliarName(), tt.familiarName},
			} {
				if c.got != c.want {
					t.Errorf("Parse(%q).%s() = %q, want %q", tt.in, c.what, c.got, c.want)
				}
			}
			if r.IsDockerHub() != tt.hub {
				t.Errorf("Parse(%q).IsDockerHub() = %v, want %v", tt.in, r.IsDockerHub(), tt.hub)
			}
			if r2, err := Parse(r.String()); err != nil || r2 != r {
				t.Errorf("Parse(%q) = %#v, %v; want %#v", r.String(), r2, err, r)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string // input to Parse
		err error  // specific sentinel (ErrInvalid when none applies)
		msg string // complete error message; "" to skip the check
	}{
		{"", ErrNameEmpty, `invalid reference "": repository name is empty`},
		{":tag", ErrNameEmpty, ""},
		{"@" + sha256, ErrNameEmpty, ""},
		{"docker.io/", ErrNameEmpty, ""},
		{"gallery/UI", ErrNotLowercase, `invalid reference "gallery/UI": repository name must be lowercase`},
		{"https://registry.local:5000/app:2", ErrInvalid, `invalid reference "https://registry.local:5000/app:2": a reference has no URL scheme: drop "https://" and write registry.local:5000/app:2`},
		{"http://host/app", ErrInvalid, ""},
		{"UPPER", ErrNotLowercase, ""},
		{"My_User/app", ErrNotLowercase, ""},
		{"localhost:5000/Foo", ErrNotLowercase, ""},
		{imgID, ErrAmbiguousImageID, `invalid reference "` + imgID + `": 64-hex name is ambiguous with an image ID`},
		{strings.Repeat("a", 248), ErrNameTooLong, ""},
		{"docker.io/" + strings.Repeat("a", 248), ErrNameTooLong, ""},
		{"index.docker.io/" + strings.Repeat("a", 248), ErrNameTooLong, ""},
		{"e.com/" + strings.Repeat("a", 256), ErrNameTooLong,
			`invalid reference "e.com/` + strings.Repeat("a", 256) + `": repository name is longer than 255 characters (256)`},
		{"a:" + strings.Repeat("t", 129), ErrTagTooLong,
			`invalid reference "a:` + strings.Repeat("t", 129) + `": tag "` + strings.Repeat("t", 129) + `" is longer than 128 characters`},
		{"a:", ErrInvalidTag, `invalid reference "a:": empty tag after ':' at position 2`},
		{"a:.x", ErrInvalidTag, `invalid reference "a:.x": invalid character '.' at position 3 in tag`},
		{"a:x/y", ErrInvalid, ""}, // "a:x" is taken for a host, as in distribution
		{"nginx@sha256:abc", ErrInvalidDigest, `invalid reference "nginx@sha256:abc": "sha256:abc" is not a valid digest`},
		{"nginx@SHA256:" + hex64, ErrInvalidDigest, ""},
		{"nginx@sha256:" + strings.ToUpper(hex64), ErrInvalidDigest, ""},
		{"nginx@md5:" + hex64, ErrInvalidDigest, ""},
		{"nginx@sha512:" + hex64, ErrInvalidDigest, ""},
		{"nginx:t@", ErrInvalidDigest, ""},
		{"a b", ErrInvalid, `invalid reference "a b": invalid character ' ' at position 2 in repository name`},
		{"aa/asdf$$^/aa", ErrInvalid, `invalid reference "aa/asdf$$^/aa": invalid character '$' at position 8 in repository name`},
		{"foo/é", ErrInvalid, `invalid reference "foo/é": invalid character 'é' at position 5 in repository name`},
		{"a\xff", ErrInvalid, `invalid reference "a\xff": invalid byte 0xff at position 2 in repository name`},
		{"a//b", ErrInvalid, `invalid reference "a//b": empty path component at position 3`},
		{"a/", ErrInvalid, `invalid reference "a/": repository name ends with '/'`},
		{"-a", ErrInvalid, `invalid reference "-a": path component starts with '-' at position 1; it must start with a lowercase letter or digit`},
		{"a-/b", ErrInvalid, `invalid reference "a-/b": path component ends with '-' at position 2; it must end with a lowercase letter or digit`},
		{"a-", ErrInvalid, ""},
		{"a___b", ErrInvalid, `invalid reference "a___b": invalid separator "___" at position 4 (use one '.', one or two '_', or any number of '-')`},
		{"a..b", ErrInvalid, ""},
		{"a_-b", ErrInvalid, ""},
		{"foo:bar/baz", ErrInvalid, `invalid reference "foo:bar/baz": invalid character 'b' at position 5 in port of registry host "foo:bar"`},
		{"my-.registry.com/app", ErrInvalid, `invalid reference "my-.registry.com/app": invalid character '.' at position 4 in registry host "my-.registry.com"`},
		{"foo./bar", ErrInvalid, `invalid reference "foo./bar": registry host "foo." must end with a letter or digit`},
		{"[::1]", ErrInvalid, ""},
		{"[::1]:5000", ErrInvalid, ""},
		{"[fe80::1%eth0]:5000/a", ErrInvalid, `invalid reference "[fe80::1%eth0]:5000/a": invalid character '%' at position 9 in IPv6 registry host "[fe80::1%eth0]:5000"`},
		{"[::1/a", ErrInvalid, ""},
		{"https://github.com/docker/docker", ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.in, r)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.err) {
				t.Errorf("Parse(%q) error %v does not match ErrInvalid and %v", tt.in, err, tt.err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Input != tt.in {
				t.Errorf("Parse(%q) error %#v is not an *Error for the input", tt.in, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("Parse(%q) error\n got %s\nwant %s", tt.in, err, tt.msg)
			}
			if r != (Reference{}) {
				t.Errorf("Parse(%q) returned non-zero %#v with its error", tt.in, r)
			}
		})
	}
}

func TestEqualSpellings(t *testing.T) {
	t.Parallel()
	want, _ := Parse("nginx:1")
	for _, s := range []string{"docker.io/nginx:1", "docker.io/library/nginx:1", "index.docker.io/nginx:1",
		"library/nginx:1", "registry-1.docker.io/library/nginx:1"} {
		if got, err := Parse(s); err != nil || got != want {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", s, got, err, want)
		}
	}
}

func TestParseRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string // input to ParseRepository
		want string // Name(), or "" when an error is expected
		err  error  // expected sentinel
	}{
		{"nginx", "docker.io/library/nginx", nil},
		{"registry.local:5000/team/app", "registry.local:5000/team/app", nil},
		{"nginx:1.25", "", ErrHasTagOrDigest},
		{"nginx@" + sha256, "", ErrHasTagOrDigest},
		{"localhost:5000", "", ErrHasTagOrDigest},
		{"Nginx", "", ErrNotLowercase},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRepository(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseRepository(%q) error = %v, want %v", tt.in, err, tt.err)
				}
				if tt.err == ErrHasTagOrDigest && err.Error() != `invalid reference "`+tt.in+`": repository name must not have a tag or digest` {
					t.Errorf("message: %s", err)
				}
				return
			}
			if err != nil || r.Name() != tt.want {
				t.Fatalf("ParseRepository(%q) = %q, %v; want %q", tt.in, r.Name(), err, tt.want)
			}
		})
	}
}

func TestValidTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag  string // candidate tag
		want bool   // ValidTag(tag)
	}{
		{"latest", true}, {"1.25", true}, {"_x", true}, {"V1-rc.1_b", true},
		{strings.Repeat("t", 128), true}, {strings.Repeat("t", 129), false},
		{"", false}, {".x", false}, {"-x", false}, {"a/b", false}, {"a:b", false}, {"a@b", false}, {"é", false},
	}
	for _, tt := range tests {
		if got := ValidTag(tt.tag); got != tt.want {
			t.Errorf("ValidTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestWithTagAndDigest(t *testing.T) {
	t.Parallel()
	r, err := Parse("diamol/golang@" + sha256)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := r.WithTag("2e")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tagged.String(), "docker.io/diamol/golang:2e@"+sha256; got != want {
		t.Errorf("WithTag: %q, want %q", got, want)
	}
	d2 := "sha256:" + strings.Repeat("a", 64)
	redig, err := tagged.WithDigest(d2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := redig.Familiar(), "diamol/golang:2e@"+d2; got != want {
		t.Errorf("WithDigest: %q, want %q", got, want)
	}
	if _, err := r.WithTag("-bad"); !errors.Is(err, ErrInvalidTag) ||
		err.Error() != `invalid reference "docker.io/diamol/golang:-bad": "-bad" is not a valid tag` {
		t.Errorf("WithTag(-bad) error = %v", err)
	}
	if _, err := r.WithTag(strings.Repeat("t", 129)); !errors.Is(err, ErrTagTooLong) || !errors.Is(err, ErrInvalid) {
		t.Errorf("WithTag(long) error = %v", err)
	}
	if _, err := r.WithDigest("sha256:abc"); !errors.Is(err, ErrInvalidDigest) ||
		err.Error() != `invalid reference "docker.io/diamol/golang@sha256:abc": "sha256:abc" is not a valid digest` {
		t.Errorf("WithDigest(bad) error = %v", err)
	}
}

func TestToName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string        // input to Parse
		opts []name.Option // options for ToName
		want string        // ToName(...).Name()
		repo string        // RepositoryName(...).Name()
		dig  bool          // whether a name.Digest is expected
	}{
		{in: "nginx", want: "index.docker.io/library/nginx:latest", repo: "index.docker.io/library/nginx"},
		{in: "diamol/golang:2e", want: "index.docker.io/diamol/golang:2e", repo: "index.docker.io/diamol/golang"},
		{in: "localhost:5000/a/b:v1", want: "localhost:5000/a/b:v1", repo: "localhost:5000/a/b"},
		{in: "MyUser/app", want: "MyUser/app:latest", repo: "MyUser/app"},
		{in: "[::1]:5000/a", want: "[::1]:5000/a:latest", repo: "[::1]:5000/a"},
		{in: "nginx:1.25@" + sha256, want: "index.docker.io/library/nginx@" + sha256, repo: "index.docker.io/library/nginx", dig: true},
		{in: "a_b.c/d", opts: []name.Option{name.WithDefaultRegistry("r.example")}, want: "r.example/a_b.c/d:latest", repo: "r.example/a_b.c/d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			n, err := r.ToName(tt.opts...)
			if err != nil {
				t.Fatalf("ToName: %v", err)
			}
			if n.Name() != tt.want {
				t.Errorf("ToName().Name() = %q, want %q", n.Name(), tt.want)
			}
			if _, isDigest := n.(name.Digest); isDigest != tt.dig {
				t.Errorf("ToName() is %T", n)
			}
			repo, err := r.RepositoryName(tt.opts...)
			if err != nil || repo.Name() != tt.repo {
				t.Errorf("RepositoryName() = %q, %v; want %q", repo.Name(), err, tt.repo)
			}
		})
	}
	if _, err := (Reference{}).ToName(); !errors.Is(err, ErrNameEmpty) {
		t.Errorf("zero Reference ToName error = %v", err)
	}
	r, _ := Parse("a_b.c/d")
	if _, err := r.ToName(name.StrictValidation); err == nil {
		t.Errorf("domain-less reference with StrictValidation: want error")
	}
}

func TestParseAllocs(t *testing.T) {
	for _, s := range []string{"nginx:1.25", "diamol/golang", "docker.io/library/nginx", "localhost:5000/a/b:v1@" + sha256} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Parse(s) }); n != 0 {
			t.Errorf("Parse(%q): %v allocations, want 0", s, n)
		}
	}
	r, _ := Parse("nginx")
	if n := testing.AllocsPerRun(100, func() { _ = r.Familiar(); _ = r.FamiliarName(); _ = r.Account() }); n != 0 {
		t.Errorf("Familiar/FamiliarName/Account of nginx: %v allocations, want 0", n)
	}
}
