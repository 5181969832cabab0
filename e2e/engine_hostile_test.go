package e2e

import (
	"archive/tar"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// hostileEngine answers as a Docker Engine API whose every image is
// sha256:aaa… and whose save archive is what archive writes.
func hostileEngine(t *testing.T, archive func(*tar.Writer)) *testenv.Socket {
	t.Helper()
	id := "sha256:" + strings.Repeat("a", 64)
	return testenv.StartSocket(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41")
		switch {
		case r.URL.Path == "/_ping":
			io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/json") && strings.Contains(r.URL.Path, "/images/") && !strings.HasSuffix(r.URL.Path, "/images/json"):
			io.WriteString(w, `{"Id":"`+id+`","RepoTags":["example.test/app:v1"]}`)
		case strings.HasSuffix(r.URL.Path, "/images/json"):
			io.WriteString(w, `[{"Id":"`+id+`","RepoTags":["example.test/app:v1"]}]`)
		case strings.HasSuffix(r.URL.Path, "/images/get"):
			w.Header().Set("Content-Type", "application/x-tar")
			tw := tar.NewWriter(w)
			archive(tw)
			tw.Close()
		default:
			http.NotFound(w, r)
		}
	}))
}

// bigMember writes a member of n bytes of 'x' without holding it.
func bigMember(tw *tar.Writer, name string, prefix string, n int64) {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
		return
	}
	io.WriteString(tw, prefix)
	buf := []byte(strings.Repeat("x", 1<<20))
	for left := n - int64(len(prefix)); left > 0; {
		k := int64(len(buf))
		if left < k {
			k = left
		}
		if _, err := tw.Write(buf[:k]); err != nil {
			return
		}
		left -= k
	}
}

func member(tw *tar.Writer, name, body string) {
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	io.WriteString(tw, body)
}

// TestEngineHostileArchive: an engine (or what answers in its place) that
// sends a hostile archive fails load and push --from-engine alike (push
// loads the engine's archive as load does) with exit 1, an engine error
// saying what is wrong, bounded memory, nothing stored, pushed, or written
// outside the store.
func TestEngineHostileArchive(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	outside := t.TempDir()
	for _, tt := range []struct {
		name    string
		archive func(*tar.Writer)
		want    string // in stderr
	}{
		{"huge config", func(tw *tar.Writer) {
			member(tw, "manifest.json", `[{"Config":"c.json","RepoTags":["example.test/app:v1"],"Layers":["l.tar"]}]`)
			bigMember(tw, "c.json", `{"a":"`, 1<<30)
		}, "c.json is larger than the limit of 16 MiB"},
		{"huge manifest.json", func(tw *tar.Writer) {
			bigMember(tw, "manifest.json", `[{"Config":"`, 1<<30)
		}, "manifest.json is larger than the limit of 4 MiB"},
		{"config through a link cycle", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "a.json", Typeflag: tar.TypeSymlink, Linkname: "b.json"})
			tw.WriteHeader(&tar.Header{Name: "b.json", Typeflag: tar.TypeSymlink, Linkname: "a.json"})
			member(tw, "manifest.json", `[{"Config":"a.json","RepoTags":["example.test/app:v1"],"Layers":[]}]`)
		}, "a.json"},
		{"manifest.json a link out of the archive", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
		}, "container engine error"},
		{"path traversal", func(tw *tar.Writer) {
			member(tw, "../../../../"+outside+"/evil", "evil")
			member(tw, "manifest.json", `[{"Config":"../../../../`+outside+`/evil","RepoTags":["example.test/app:v1"],"Layers":[]}]`)
		}, "escapes the archive"},
	} {
		s := hostileEngine(t, tt.archive)
		e := engineEnv(t, s.Host)
		for _, args := range [][]string{
			{"load", "--from-engine", "example.test/app:v1"},
			{"push", "--from-engine", reg.Ref("app:v1")},
		} {
			res := e.Run(t, args...)
			if res.Code != 1 || !strings.Contains(res.Stderr, tt.want) || !strings.Contains(res.Stderr, "container engine error") {
				t.Errorf("%s: %v: exit %d, stderr %q; want 1 and %q", tt.name, args, res.Code, res.Stderr, tt.want)
			}
			if res.MaxRSS > 256<<20 {
				t.Errorf("%s: %v: peak RSS %d MiB", tt.name, args, res.MaxRSS>>20)
			}
		}
		if res := e.Run(t, "images", "-q"); res.Stdout != "" {
			t.Errorf("%s: the store holds %q", tt.name, res.Stdout)
		}
		if exists(t, reg, "app:v1") {
			t.Errorf("%s: app:v1 was pushed", tt.name)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("written outside the store: %v", ents)
	}
}
