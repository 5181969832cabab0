package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
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
// sends a hostile archive fails load and push --from-engine alike with
// exit 1, an engine error saying what is wrong, bounded memory, nothing
// stored, pushed, or written outside the store.
func TestEngineHostileArchive(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	outside := t.TempDir()
	for _, tt := range []struct {
		name       string
		archive    func(*tar.Writer)
		load, push string // in stderr
	}{
		{"huge config", func(tw *tar.Writer) {
			member(tw, "manifest.json", `[{"Config":"c.json","RepoTags":["example.test/app:v1"],"Layers":["l.tar"]}]`)
			bigMember(tw, "c.json", `{"a":"`, 1<<30)
		}, "c.json is larger than the limit of 16 MiB", "c.json is larger than the limit of 16 MiB"},
		{"huge manifest.json", func(tw *tar.Writer) {
			bigMember(tw, "manifest.json", `[{"Config":"`, 1<<30)
		}, "manifest.json is larger than the limit of 4 MiB", "manifest.json is larger than the limit of 4 MiB"},
		{"config through a link cycle", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "a.json", Typeflag: tar.TypeSymlink, Linkname: "b.json"})
			tw.WriteHeader(&tar.Header{Name: "b.json", Typeflag: tar.TypeSymlink, Linkname: "a.json"})
			member(tw, "manifest.json", `[{"Config":"a.json","RepoTags":["example.test/app:v1"],"Layers":[]}]`)
		}, "a.json", "a cycle or chain of more than 8 links"},
		{"manifest.json a link out of the archive", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
		}, "container engine error", "etc/passwd is not in it"},
		{"path traversal", func(tw *tar.Writer) {
			member(tw, "../../../../"+outside+"/evil", "evil")
			member(tw, "manifest.json", `[{"Config":"../../../../`+outside+`/evil","RepoTags":["example.test/app:v1"],"Layers":[]}]`)
		}, "escapes the archive", "container engine error"},
	} {
		s := hostileEngine(t, tt.archive)
		e := engineEnv(t, s.Host)
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"load", "--from-engine", "example.test/app:v1"}, tt.load},
			{[]string{"push", "--from-engine", reg.Ref("app:v1")}, tt.push},
		} {
			res := e.Run(t, c.args...)
			if res.Code != 1 || !strings.Contains(res.Stderr, c.want) || !strings.Contains(res.Stderr, "container engine error") {
				t.Errorf("%s: %v: exit %d, stderr %q; want 1 and %q", tt.name, c.args, res.Code, res.Stderr, c.want)
			}
			if res.MaxRSS > 256<<20 {
				t.Errorf("%s: %v: peak RSS %d MiB", tt.name, c.args, res.MaxRSS>>20)
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

// TestEnginePushWhileTheTagMoves: push --from-engine reads the engine's
// archive several times; a tag rebuilt meanwhile (here: moved after the
// first read) does not mix two images: what goes up is the image the tag
// named when the push began, whole.
func TestEnginePushWhileTheTagMoves(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := t.TempDir()
	ref := reg.Ref("app:v1") // the engine's name of it, as push --from-engine wants
	type image struct{ id, tar string }
	var imgs [2]image
	for i := range imgs {
		img, err := random.Image(1024, 2)
		if err != nil {
			t.Fatal(err)
		}
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		imgs[i] = image{id.String(), filepath.Join(dir, id.Hex+".tar")}
		testenv.ImagesTar(t, imgs[i].tar, map[string]v1.Image{ref: img}, false)
	}
	var moved atomic.Bool // after the first save, ref is imgs[1]
	current := func() image {
		if moved.Load() {
			return imgs[1]
		}
		return imgs[0]
	}
	byName := func(n string) (image, bool) {
		for _, img := range imgs {
			if n == img.id {
				return img, true
			}
		}
		return current(), n == ref
	}
	s := testenv.StartSocket(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41")
		p := r.URL.Path
		switch {
		case p == "/_ping":
			io.WriteString(w, "OK")
		case strings.HasSuffix(p, "/images/json"):
			io.WriteString(w, `[{"Id":"`+current().id+`","RepoTags":["`+ref+`"]}]`)
		case strings.HasSuffix(p, "/images/get"):
			img, ok := byName(r.URL.Query().Get("names"))
			if !ok {
				http.NotFound(w, r)
				return
			}
			moved.Store(true)
			http.ServeFile(w, r, img.tar)
		case strings.Contains(p, "/images/") && strings.HasSuffix(p, "/json"):
			n := strings.TrimSuffix(p[strings.Index(p, "/images/")+len("/images/"):], "/json")
			img, ok := byName(n)
			if !ok {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, `{"Id":"`+img.id+`","RepoTags":["`+ref+`"]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	e := engineEnv(t, s.Host)
	res := e.Run(t, "push", "--from-engine", ref)
	wantCode(t, res, 0)
	cfg := e.Crane(t, "config", reg.Ref("app:v1"))
	wantCode(t, cfg, 0)
	if sum := sha256.Sum256([]byte(cfg.Stdout)); "sha256:"+hex.EncodeToString(sum[:]) != imgs[0].id {
		t.Errorf("pushed config %x, want the image the tag named first, %s", sum, imgs[0].id)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", reg.Ref("app:v1")), 0)
}
