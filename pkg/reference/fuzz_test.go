package reference

import (
	_ "crypto/sha256" // go-digest only accepts digests whose hash is linked in.
	_ "crypto/sha512"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dref "github.com/distribution/reference"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzParseDifferential seed files from the seed lists")

const (
	hex64  = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	hex96  = hex64 + "ffffffffffffffffffffffffffffffff"
	hex128 = hex64 + hex64
	sha256 = "sha256:" + hex64
	imgID  = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
)

// edgeSeeds are hand-picked edge cases on top of distributionSeeds.
var edgeSeeds = []string{
	"nginx", "nginx:1.25", "diamol/golang", "diamol/golang:2e",
	"docker.io/nginx", "docker.io/library/nginx", "index.docker.io/nginx",
	"index.docker.io/library/nginx:1", "registry-1.docker.io/nginx",
	"registry-1.docker.io/library/nginx", "registry-1.docker.io/a/b:t",
	"Index.docker.io/nginx", "Docker.io/nginx", "docker.io:443/nginx",
	"localhost", "localhost:5000", "localhost/foo", "localhost:5000/foo",
	"localhost:5000/a/b:v1", "LOCALHOST/foo", "localhost.localdomain/foo",
	"[::1]:5000/a", "[::1]/a", "[::1]", "[::]:0/a", "[AB::CD]/a", "[ab]/a",
	"[AB]/a", "[::1]:/a", "[::1]x/a", "[/a", "[]/a", "[::1:5000/a",
	"Registry.Local:5000/team/app:V1", "MyUser/app", "My_User/app",
	"Foo--/bar", "a_b.c/d", "a__b.c/d:t", "a_b.c/D", "a_b.c:5000/d",
	"a_b.c@x/d", "my-.registry.com/app", "a-.com/x", "foo./bar", "foo..bar/x",
	"gallery/UI", "nginx@sha256:abc", "nginx@SHA256:" + hex64,
	"nginx@sha256:" + strings.ToUpper(hex64), "nginx:t@sha256:" + hex64,
	"nginx@sha384:" + hex96, "nginx@sha512:" + hex128, "nginx@sha512:" + hex64,
	"nginx@md5:" + hex64, "nginx:@" + sha256, "nginx:", "nginx@", "nginx:t@",
	"nginx:.t", "nginx:-t", "nginx:_t", "nginx:T.-_", "nginx:a:b", "nginx:a/b",
	"nginx:1.0/x", imgID, imgID + ":tag", "docker.io/" + imgID,
	strings.ToUpper(imgID), imgID[:63], imgID + "0",
	strings.Repeat("a", 247), strings.Repeat("a", 248),
	"docker.io/" + strings.Repeat("a", 247), "docker.io/" + strings.Repeat("a", 248),
	"example.com/" + strings.Repeat("a", 255), "example.com/" + strings.Repeat("a", 256),
	"registry-1.docker.io/" + strings.Repeat("a", 255),
	"registry-1.docker.io/" + strings.Repeat("a", 256),
	"index.docker.io/" + strings.Repeat("a", 248),
	"a_b.c/" + strings.Repeat("a", 249), "a_b.c/" + strings.Repeat("a", 250),
	"nginx:" + strings.Repeat("t", 128), "nginx:" + strings.Repeat("t", 129),
	"nginx:" + strings.Repeat("t", 128) + "@" + sha256,
	"a-b--c---d/e__f_g.h", "a___b", "a_.b", "a._b", "a-_b", "a_-b", "-a", "a-",
	"a/", "/a", "a//b", "a/.b", "a/b.", "docker.io/", "docker.io", "foo/:t",
	"é", "É/foo", "foo/é", "\xff", "\xff/a", "a:\xff", "a b", "a\x00b",
	"UPPER", "Upper:tag", "upper:TAG",
}

func allSeeds() []string {
	return append(append([]string(nil), distributionSeeds...), edgeSeeds...)
}

// TestWriteSeedCorpus rewrites the checked-in seed corpus with
// -update-corpus. Fuzz findings are added separately, by go test itself.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseDifferential")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range allSeeds() {
		body := "go test fuzz v1\nstring(" + strconv.Quote(s) + ")\n"
		file := filepath.Join(dir, fmt.Sprintf("seed-%03d", i))
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// expectation is what distribution/reference says about an input, in terms
// of our accessors.
type expectation struct {
	domain, path, tag, digest string
	name, str, canonical      string
	familiar, familiarName    string
}

func distributionView(s string) (expectation, error) {
	named, err := dref.ParseNormalizedNamed(s)
	if err != nil {
		return expectation{}, err
	}
	var e expectation
	e.domain, e.path = dref.Domain(named), dref.Path(named)
	if t, ok := named.(dref.Tagged); ok {
		e.tag = t.Tag()
	}
	if d, ok := named.(dref.Digested); ok {
		e.digest = d.Digest().String()
	}
	e.name = named.Name()
	e.str = named.String()
	e.canonical = dref.TagNameOnly(named).String()
	e.familiar = dref.FamiliarString(named)
	e.familiarName = dref.FamiliarName(named)
	return e, nil
}

// checkDifferential holds Parse against distribution/reference's
// ParseNormalizedNamed for one input.
func checkDifferential(t *testing.T, s string) {
	t.Helper()
	want, derr := distributionView(s)
	r, err := Parse(s)
	if derr == nil && err != nil && checkHostLength(want.domain, len(want.domain)) != nil {
		return // by design: ctl refuses a host longer than DNS allows, distribution does not
	}
	if (derr == nil) != (err == nil) {
		t.Fatalf("Parse(%q): accept/reject differs: distribution err=%v, ours err=%v", s, derr, err)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Input != s {
			t.Fatalf("Parse(%q): error %v is not an *Error wrapping ErrInvalid for the input", s, err)
		}
		if !strings.HasPrefix(err.Error(), "invalid reference "+quoteInput(s)+": ") {
			t.Fatalf("Parse(%q): error message %q lacks the prefix", s, err)
		}
		return
	}
	roundTrip := true
	if want.domain == hubAPIDomain {
		// Deliberate deviation: registry-1.docker.io is Docker Hub, so we
		// expect what distribution says about the docker.io spelling.
		alt := hubDomain + s[len(hubAPIDomain):]
		if want, err = distributionView(alt); err != nil {
			// Only the length limit differs: distribution counts
			// "library/" for docker.io but not for registry-1.docker.io.
			if !errors.Is(err, dref.ErrNameTooLong) {
				t.Fatalf("distribution rejects %q (for %q): %v", alt, s, err)
			}
			return
		}
		roundTrip = len(want.path) <= NameMaxLength
	}
	got := expectation{
		domain: r.Registry(), path: r.Repository(), tag: r.Tag(), digest: r.Digest(),
		name: r.Name(), str: r.String(), canonical: r.Canonical(),
		familiar: r.Familiar(), familiarName: r.FamiliarName(),
	}
	if got != want {
		t.Fatalf("Parse(%q):\n got %+v\nwant %+v", s, got, want)
	}
	if roundTrip {
		for _, again := range []string{r.String(), r.Familiar(), r.Canonical()} {
			if again == r.Familiar() {
				// Docker's familiar form is lossy when the first remaining
				// component looks like a host ("docker.io/0.0/0" -> "0.0/0")
				// or is 64 hex digits: require a round trip only when
				// distribution round-trips too.
				if fam, err := distributionView(again); err != nil || fam.name != want.name {
					continue
				}
			}
			r2, err := Parse(again)
			if err != nil {
				t.Fatalf("Parse(%q) -> %q does not parse again: %v", s, again, err)
			}
			if again != r.Canonical() && r2 != r {
				t.Fatalf("Parse(%q) = %#v, but Parse(%q) = %#v", s, r, again, r2)
			}
		}
	}
}

// FuzzParseDifferential holds Parse against distribution/reference's
// ParseNormalizedNamed (and TagNameOnly, FamiliarString, FamiliarName) on
// accept/reject, domain, path, tag, digest, familiar and canonical strings.
func FuzzParseDifferential(f *testing.F) {
	for _, s := range allSeeds() {
		f.Add(s)
	}
	f.Fuzz(checkDifferential)
}

// TestDifferentialSeeds runs the differential check over the seeds as
// ordinary subtests, with readable names.
func TestDifferentialSeeds(t *testing.T) {
	t.Parallel()
	for _, s := range allSeeds() {
		checkDifferential(t, s)
	}
}
