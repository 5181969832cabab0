package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPushHoldsTheStore: an rmi and an image prune while a push from the
// store is under way do not take its blobs from under it: the prune waits
// for the push, which completes, then reclaims the image's blobs. Both
// while the layers go up one by one (-j 1, through a slow proxy) and while
// a docker save image's layers are compressed for the push, one after
// another (GOMAXPROCS=1), each under the writers' lock: a prune waiting
// between two of them must not deadlock with the push.
func TestPushHoldsTheStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *testenv.Env, ref string)
		// busy reports whether the push is under way, past its first step.
		busy func(t *testing.T, e *testenv.Env, proxy *testenv.Proxy) bool
	}{
		{"layers going up", func(t *testing.T, e *testenv.Env, ref string) {
			seed(t, e, 6, 256<<10, ref)
		}, func(t *testing.T, e *testenv.Env, proxy *testenv.Proxy) bool {
			return proxy.Count("PUT", "/blobs/uploads/") > 0
		}},
		{"layers being compressed", func(t *testing.T, e *testenv.Env, ref string) {
			archive := filepath.Join(e.Dir, "big.tar")
			testenv.TextDockerSaveTar(t, archive, 4, 8<<20)
			wantCode(t, e.Run(t, "load", "-i", archive), 0)
			wantCode(t, e.Run(t, "tag", "big:1", ref), 0)
			wantCode(t, e.Run(t, "rmi", "big:1"), 0)
			e.Setenv("GOMAXPROCS", "1")
		}, func(t *testing.T, e *testenv.Env, _ *testenv.Proxy) bool {
			ents, _ := os.ReadDir(filepath.Join(e.Store, "gzip", "sha256"))
			return len(ents) > 0 // the first layer is compressed
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
			proxy := testenv.NewProxy(t, reg.URL, nil)
			e := testenv.NewEnv(t)
			ref := proxy.Host + "/app:v1"
			tc.setup(t, e, ref)
			for _, r := range strings.Fields(e.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}").Stdout) {
				if r != ref {
					wantCode(t, e.Run(t, "rmi", r), 0)
				}
			}
			proxy.SetDelay(200 * time.Millisecond)
			push := e.Start(t, testenv.CtlBinary(t), nil, 2*time.Minute, "push", "-j", "1", ref)
			testenv.WaitFor(t, time.Minute, "the push under way", func() bool { return tc.busy(t, e, proxy) })
			wantCode(t, e.Run(t, "rmi", ref), 0)
			prune := e.Start(t, testenv.CtlBinary(t), nil, 2*time.Minute, "image", "prune", "--force")
			res := push.WaitWithin(time.Minute)
			if res.Code != 0 {
				t.Fatalf("push with an rmi and a prune beside it: exit %d\n%s", res.Code, res.Stderr)
			}
			pr := prune.WaitWithin(time.Minute)
			wantCode(t, pr, 0)
			if strings.Contains(pr.Stdout, "space: 0B") {
				t.Errorf("the prune after the push reclaimed nothing: %q", pr.Stdout)
			}
			// What went up is whole: a pull verifies every blob.
			proxy.SetDelay(0)
			wantCode(t, testenv.NewEnv(t).Run(t, "pull", "-q", ref), 0)
		})
	}
}

// TestIndexEditsConcurrent: index edits of one target racing each other
// all apply, as if one after the other: each index add of its own platform
// is in the final index, and of several index create of one new target,
// one makes it and the others find it made (exit 2, as a create after
// it).
func TestIndexEditsConcurrent(t *testing.T) {
	t.Parallel()
	archs := []string{"amd64", "arm64", "ppc64le", "s390x", "386", "riscv64", "mips64le"}
	e := testenv.NewEnv(t)
	imgs := map[string]v1.Image{}
	for _, a := range archs {
		imgs["app:"+a] = platformImage(t, a, "")
	}
	archive := filepath.Join(e.Dir, "apps.tar")
	testenv.ImagesTar(t, archive, imgs, false)
	wantCode(t, e.Run(t, "load", "-q", "-i", archive), 0)
	platforms := func(ref string) []string {
		t.Helper()
		res := e.Run(t, "images", "--format", "{{.Platforms}}", ref)
		wantCode(t, res, 0)
		got := strings.Split(strings.TrimSpace(res.Stdout), ",")
		slices.Sort(got)
		return got
	}
	for round := range 3 {
		target := fmt.Sprintf("list:%d", round)
		wantCode(t, e.Run(t, "index", "create", target, "app:"+archs[0]), 0)
		var procs []*testenv.Proc
		for _, a := range archs[1:] {
			procs = append(procs, e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "index", "add", target, "app:"+a))
		}
		for _, p := range procs {
			wantCode(t, p.Wait(), 0)
		}
		want := slices.Clone(archs)
		for i, a := range want {
			want[i] = "linux/" + a
		}
		slices.Sort(want)
		if got := platforms(target); !slices.Equal(got, want) {
			t.Fatalf("round %d: after concurrent index add: platforms %v, want %v", round, got, want)
		}

		target = fmt.Sprintf("new:%d", round)
		procs = procs[:0]
		for _, a := range archs {
			procs = append(procs, e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "index", "create", target, "app:"+a))
		}
		made := 0
		for _, p := range procs {
			switch res := p.Wait(); res.Code {
			case 0:
				made++
			case 2:
				if !strings.Contains(res.Stderr, "is already an index in the store") {
					t.Errorf("round %d: a create that lost: %s", round, res.Stderr)
				}
			default:
				t.Fatalf("round %d: index create: exit %d: %s", round, res.Code, res.Stderr)
			}
		}
		if got := platforms(target); made != 1 || len(got) != 1 {
			t.Fatalf("round %d: %d of the concurrent index create made %s, of platforms %v; want one", round, made, target, got)
		}
	}
}

// TestSyncToOneLayoutConcurrent: syncs writing to one OCI layout at once
// (a new one, whose creation they race on too) all succeed and all their
// images are in it: index.json is never read half-written, nor does one
// sync's write undo another's.
func TestSyncToOneLayoutConcurrent(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	const n = 8
	base := randomImage(t, 64<<10, 2)
	for i := range n {
		img, err := mutate.AppendLayers(base, mustLayers(t, randomImage(t, 32<<10, 1))...) // shared layers: the syncs write the same blobs
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(reg.ParseRef(t, fmt.Sprintf("app%d:v1", i)), img, reg.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	e := testenv.NewEnv(t)
	for round := range 3 {
		usb := filepath.Join(e.Dir, fmt.Sprintf("usb%d", round))
		var procs []*testenv.Proc
		for i := range n {
			procs = append(procs, e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "sync", reg.Ref(fmt.Sprintf("app%d", i)), reg.Ref(fmt.Sprintf("mirror/app%d", i)), "--to", "oci:"+usb))
		}
		for i, p := range procs {
			if res := p.Wait(); res.Code != 0 {
				t.Fatalf("round %d: sync %d: exit %d: %s", round, i, res.Code, res.Stderr)
			}
		}
		res := e.Run(t, "load", "-i", usb)
		wantCode(t, res, 0)
		if got := strings.Count(res.Stdout, "Loaded image: mirror/app"); got != n {
			t.Fatalf("round %d: the layout holds %d images, want %d:\n%s", round, got, n, res.Stdout)
		}
	}
}

// TestPushFromAStoreNotWritable: a push only reads the store; from one
// that cannot be written (here its index lock cannot be opened for
// writing, as in a read-only store, which root would write all the same)
// it succeeds, exit 0, and only the record of what was pushed is left
// out: before, it exited 1 after every blob and the manifest were up.
func TestPushFromAStoreNotWritable(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	archive := filepath.Join(e.Dir, "in.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{reg.Ref("app:v1"): randomImage(t, 1000, 2)}, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	lock := filepath.Join(e.Store, "index.lock")
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(lock, 0o755); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.Run(t, "tag", reg.Ref("app:v1"), "other:v1"), 1) // the store cannot be written
	res := e.Run(t, "push", reg.Ref("app:v1"))
	wantCode(t, res, 0)
	pushed := digestAfter(t, res.Stdout, "v1: digest: ")
	// What went up is whole: a pull verifies every blob.
	other := testenv.NewEnv(t)
	wantCode(t, other.Run(t, "pull", "-q", reg.Ref("app:v1")), 0)
	if got := other.Run(t, "images", "--digests", "--format", "{{.Digest}}").Stdout; got != pushed+"\n" {
		t.Errorf("pulled %q, pushed %s", got, pushed)
	}
}

// TestSyncLayoutManifestCutShort: a manifest left cut short in an OCI
// layout by a sync killed while writing it (ggcr writes manifests in
// place) is written again by the next sync, which used to keep it as it
// was, report the image copied, and name the broken manifest in
// index.json: the layout could not be read any more. The same for a child
// of an index.
func TestSyncLayoutManifestCutShort(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := reg.PushRandomImage(t, "app:v1", 2, 4096)
	child := platformImage(t, "arm64", "")
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: child, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(reg.ParseRef(t, "list:v1"), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	e := testenv.NewEnv(t)
	usb := filepath.Join(e.Dir, "usb")
	blobs := filepath.Join(usb, "blobs", "sha256")
	mkdirs(t, blobs)
	writeFile(t, filepath.Join(usb, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`)
	writeFile(t, filepath.Join(usb, "index.json"), `{"schemaVersion":2,"manifests":[]}`)
	for _, d := range []v1.Hash{mustDigest(t, img), mustDigest(t, child)} {
		writeFile(t, filepath.Join(blobs, d.Hex), `{"schemaVers`)
	}
	for _, repo := range []string{"app", "list"} {
		wantCode(t, e.Run(t, "sync", reg.Ref(repo), reg.Ref("mirror/"+repo), "--to", "oci:"+usb), 0)
	}
	res := e.Run(t, "load", "-i", usb)
	wantCode(t, res, 0)
	if res.Stdout != "Loaded image: mirror/app:v1\nLoaded image: mirror/list:v1\n" {
		t.Errorf("load of the layout: %q", res.Stdout)
	}
	wantCode(t, e.Run(t, "save", "-o", filepath.Join(e.Dir, "out.tar"), "mirror/app:v1", "mirror/list:v1"), 0)
}
