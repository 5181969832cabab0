package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// Bounds every hostile-input case below must keep: no hang, no memory
// growth with the input.
const (
	boundedTimeout = 30 * time.Second
	boundedRSS     = 256 << 20
)

// runBounded runs ctl and fails the test when it took longer than
// boundedTimeout (the harness kills it then) or more memory than
// boundedRSS.
func runBounded(t *testing.T, e *testenv.Env, stdin string, args ...string) testenv.Result {
	t.Helper()
	res := e.Exec(t, testenv.CtlBinary(t), stdin, boundedTimeout, args...)
	if res.MaxRSS > boundedRSS {
		t.Errorf("ctl %s used %d MiB, more than %d MiB", strings.Join(args, " "), res.MaxRSS>>20, boundedRSS>>20)
	}
	return res
}

// special makes path a special file of the given kind: "fifo", "device"
// (a symlink to /dev/zero, endless), "dir", or "huge" (a sparse regular
// file of 1 GiB, over every cap).
func special(t *testing.T, path, kind string) {
	t.Helper()
	os.RemoveAll(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o644)
	case "device":
		err = os.Symlink("/dev/zero", path)
	case "dir":
		err = os.Mkdir(path, 0o755)
	case "huge":
		var f *os.File
		if f, err = os.Create(path); err == nil {
			err = f.Truncate(1 << 30)
			f.Close()
		}
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpecialFilesRefused: every file ctl reads is opened as a regular file
// only, without blocking, and read through a cap: a FIFO, a link to
// /dev/zero, a directory or a huge file in its place is refused with exit 2
// naming the file, at once and in bounded memory.
func TestSpecialFilesRefused(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 512, 1)
	layoutDir := t.TempDir()
	ociLayout(t, layoutDir, img, "special/app:v1")
	layer, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layerDigest, err := layer[0].Digest()
	if err != nil {
		t.Fatal(err)
	}

	type setup func(t *testing.T, e *testenv.Env, kind string) (args []string, file string)
	dockerfile := func(cmd ...string) setup {
		return func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.Dir, "Dockerfile")
			special(t, p, kind)
			return append(cmd, p), p
		}
	}
	// A registry command that reads its configuration before any request;
	// the host does not resolve, so nothing else can answer first.
	remote := []string{"digest", "reg.invalid:5000/app:v1"}
	layoutFile := func(name string) setup {
		return func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			dir := filepath.Join(t.TempDir(), "layout")
			if err := os.CopyFS(dir, os.DirFS(layoutDir)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, name)
			special(t, p, kind)
			return []string{"load", "-i", dir}, name
		}
	}
	cases := []struct {
		name  string
		kinds []string
		setup setup
	}{
		{"check dockerfile", []string{"fifo", "device", "dir", "huge"}, dockerfile("check", "dockerfile", "--require-pinned")},
		{"pin", []string{"fifo", "device", "dir", "huge"}, dockerfile("pin", "--dry-run")},
		{"--ca-file", []string{"fifo", "device", "dir", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.Dir, "ca.pem")
			special(t, p, kind)
			return append([]string{"--ca-file", p}, remote...), p
		}},
		{"certs.d ca.crt", []string{"fifo", "device", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.DockerConfig, "certs.d", "reg.invalid:5000", "ca.crt")
			special(t, p, kind)
			return remote, p
		}},
		{"certs.d client certificate", []string{"fifo", "device", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			dir := filepath.Join(e.DockerConfig, "certs.d", "reg.invalid:5000")
			special(t, filepath.Join(dir, "client.cert"), kind)
			special(t, filepath.Join(dir, "client.key"), kind)
			return remote, filepath.Join(dir, "client.")
		}},
		{"ctl config.json", []string{"fifo", "device", "dir", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.XDGConfig, "ctl", "config.json")
			special(t, p, kind)
			return remote, p
		}},
		{"docker config.json", []string{"fifo", "device", "dir", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.DockerConfig, "config.json")
			special(t, p, kind)
			return []string{"logout", "reg.invalid:5000"}, p
		}},
		{"load archive", []string{"fifo", "device"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.Dir, "image.tar")
			special(t, p, kind)
			return []string{"load", "-i", p}, p
		}},
		{"sync plan", []string{"fifo", "device", "dir", "huge"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.Dir, "plan.yaml")
			special(t, p, kind)
			return []string{"sync", "--dry-run", p}, p
		}},
		{"sync OCI archive", []string{"fifo", "device"}, func(t *testing.T, e *testenv.Env, kind string) ([]string, string) {
			p := filepath.Join(e.Dir, "air-gap.tar")
			special(t, p, kind)
			return []string{"sync", "--from", "oci:" + p, "reg.invalid:5000/a", "reg.invalid:5000/b"}, p
		}},
		{"layout index.json", []string{"fifo", "device", "dir", "huge"}, layoutFile("index.json")},
		{"layout oci-layout", []string{"fifo", "device", "dir"}, layoutFile("oci-layout")},
		{"layout blob", []string{"fifo", "device", "dir"}, layoutFile("blobs/sha256/" + layerDigest.Hex)},
	}
	for _, tc := range cases {
		for _, kind := range tc.kinds {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				e := testenv.NewEnv(t)
				args, file := tc.setup(t, e, kind)
				res := runBounded(t, e, "", args...)
				want := "not a regular file"
				switch {
				case kind == "huge":
					want = "larger than the limit of"
				case kind == "device" && strings.HasPrefix(tc.name, "layout"):
					want = "escapes" // os.Root refuses the link to /dev/zero first
				}
				if res.Code != 2 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, file) {
					t.Fatalf("exit %d, stderr %q: want exit 2 naming %s and saying %q", res.Code, res.Stderr, file, want)
				}
			})
		}
	}
}

// TestHostileDockerfiles: check dockerfile and pin read a Dockerfile in
// time and memory linear in its size, which is capped; expansion is
// bounded in length.
func TestHostileDockerfiles(t *testing.T) {
	t.Parallel()
	doubling := func() string {
		var b strings.Builder
		b.WriteString("ARG A0=abcdefgh\n")
		for i := 1; i < 64; i++ {
			fmt.Fprintf(&b, "ARG A%d=${A%d}${A%d}\n", i, i-1, i-1)
		}
		b.WriteString("FROM ${A63}\n")
		return b.String()
	}
	cases := []struct {
		name, content string
		code          int
		want          string // in stderr, with the file's name
	}{
		{"ARGs that double", doubling(), 2, "more than the limit of 1 MiB"},
		{"a million continuations", "FROM scratch\nRUN a \\\n" + strings.Repeat("b \\\n", 1<<20) + "c\n", 0, ""},
		{"8 MB of bare continuations", "FROM scratch\nRUN \\\n" + strings.Repeat("\\\n", 4<<20) + "c\n", 0, ""},
		{"a 30 MiB line", "FROM scratch\nRUN " + strings.Repeat("a", 30<<20) + "\n", 0, ""},
		{"a 64 MiB line", "FROM scratch\nRUN " + strings.Repeat("a", 64<<20) + "\n", 2, "larger than the limit of 32 MiB"},
	}
	for _, tc := range cases {
		for _, cmd := range [][]string{{"check", "dockerfile", "--require-pinned"}, {"pin", "--dry-run"}} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				t.Parallel()
				e := testenv.NewEnv(t)
				p := filepath.Join(e.Dir, "Dockerfile")
				if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
				res := runBounded(t, e, "", append(cmd, p)...)
				if res.Code != tc.code || tc.want != "" && (!strings.Contains(res.Stderr, tc.want) || !strings.Contains(res.Stderr, p)) {
					t.Fatalf("exit %d, stderr %q: want exit %d and %q naming %s", res.Code, res.Stderr, tc.code, tc.want, p)
				}
			})
		}
	}
}

// TestLoadDecompressionBomb: load decompresses a gzip'd archive, and a
// classic docker save's compressed layers to check their diff_ids, to at
// most 100 times the compressed bytes plus 256 MiB: each bomb below (1 GiB
// of zeros from about 1 MiB, by file or on standard input) is refused with
// exit 2 naming the layer or member and the limit, in bounded time and
// memory, leaving nothing in the store, temp files included. A layout's
// layers are never decompressed: its bomb loads as its compressed bytes.
func TestLoadDecompressionBomb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, b := range testenv.Bombs(t, dir, 1<<30) {
		path := filepath.Join(dir, b.File)
		stdin := []bool{false}
		if b.File == "docker.tar.gz" {
			stdin = append(stdin, true)
		}
		for _, onStdin := range stdin {
			name := b.File
			if onStdin {
				name += "/stdin"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := testenv.NewEnv(t)
				args, in := []string{"load", "-i", path}, ""
				if onStdin {
					raw, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					args, in = []string{"load"}, string(raw)
				}
				res := runBounded(t, e, in, args...)
				if b.Member == "" {
					wantCode(t, res, 0)
					if blobs := dirSize(t, filepath.Join(e.Store, "blobs")); blobs > 8<<20 {
						t.Fatalf("the layout's bomb takes %d bytes in the store", blobs)
					}
					return
				}
				if res.Code != 2 || !strings.Contains(res.Stderr, b.Refusal()) {
					t.Fatalf("exit %d, stderr %q: want exit 2 and %q", res.Code, res.Stderr, b.Refusal())
				}
				if imgs := e.Run(t, "images", "-q"); imgs.Code != 0 || imgs.Stdout != "" {
					t.Fatalf("images after the refused load: exit %d, %q", imgs.Code, imgs.Stdout)
				}
				if tmp := testenv.StoreTempFiles(t, e.Store); len(tmp) != 0 {
					t.Fatalf("temp files left in the store: %v", tmp)
				}
			})
		}
	}
}

// dirSize is the bytes of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		fi, err := de.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
