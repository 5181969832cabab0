package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestFailuresExitCodes: what a registry or the machine gets wrong is exit
// 1 with a clear error, what the user gave wrong is exit 2, and a
// descriptor of negative or absurd size is refused on every path.
func TestFailuresExitCodes(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := reg.PushRandomImage(t, "app:v1", 1, 10<<10)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	// The manifest as a lying registry sends it: the layer's size -1.
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["layers"].([]any)[0].(map[string]any)["size"] = -1
	lying, _ := json.Marshal(m)
	sum := sha256.Sum256(lying)
	mt, _ := img.MediaType()
	lyingFault := testenv.Fault{PathRegexp: "/manifests/v1", Kind: testenv.FaultStatus, Status: 200, Body: string(lying),
		Header: http.Header{"Content-Type": {string(mt)}, "Docker-Content-Digest": {"sha256:" + hex.EncodeToString(sum[:])}}}
	// The same, also under its digest, as tags list --long asks for it.
	lyingByDigest := lyingFault
	lyingByDigest.PathRegexp = "/manifests/(v1|sha256:" + hex.EncodeToString(sum[:]) + ")$"
	corruptFault := testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + ld.String(), Kind: testenv.FaultCorruptBody, Bytes: 100}

	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 1, 16<<20)
	alteredLayout := filepath.Join(t.TempDir(), "layout")
	ociLayout(t, alteredLayout, randomImage(t, 4096, 1), "altered:1")
	alterLayer(t, alteredLayout)
	longHost := strings.Repeat("a", 9996) + ".com/app:v1"

	ctl := func(args ...string) []string { return append([]string{testenv.CtlBinary(t)}, args...) }
	for _, tc := range []struct {
		name  string
		fault *testenv.Fault
		run   func(host string) []string // binary and arguments
		code  int
		want  string
	}{
		{"pull of a corrupt layer", &corruptFault, func(h string) []string { return ctl("pull", h+"/app:v1") }, 1, "digest"},
		{"copy of a corrupt layer", &corruptFault, func(h string) []string { return ctl("copy", h+"/app:v1", reg.Ref("copied:v1")) }, 1, "digest"},
		{"pull of a layer of size -1", &lyingFault, func(h string) []string { return ctl("pull", h+"/app:v1") }, 1, "declares -1 bytes: negative or absurd size"},
		{"copy of a layer of size -1", &lyingFault, func(h string) []string { return ctl("copy", h+"/app:v1", reg.Ref("copied2:v1")) }, 1, "declares -1 bytes: negative or absurd size"},
		{"inspect of a layer of size -1", &lyingFault, func(h string) []string { return ctl("inspect", h+"/app:v1") }, 1, "declares -1 bytes: negative or absurd size"},
		{"tags list --long of a layer of size -1", &lyingByDigest, func(h string) []string { return ctl("tags", "list", "--long", h+"/app") }, 1, "declares -1 bytes: negative or absurd size"},
		{"manifest get of a layer of size -1 (shown as sent)", &lyingFault, func(h string) []string { return ctl("manifest", "get", h+"/app:v1") }, 0, ""},
		{"load on a full disk", nil, func(string) []string {
			// RLIMIT_FSIZE: writes past 1 MiB fail (EFBIG), as on a full disk.
			return append([]string{"prlimit", "--fsize=1048576"}, ctl("load", "-i", archive)...)
		}, 1, "writing to the image store"},
		{"load of a layout with an altered blob", nil, func(string) []string { return ctl("load", "-i", alteredLayout) }, 2, "digest"},
		{"ref of a 10,000-character host", nil, func(string) []string { return ctl("ref", longHost) }, 2, "registry host has 10000 characters, more than 253"},
		{"pull of a 10,000-character host", nil, func(string) []string { return ctl("pull", longHost) }, 2, "registry host has 10000 characters, more than 253"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := testenv.NewProxy(t, reg.URL, nil)
			if tc.fault != nil {
				proxy.AddFault(*tc.fault)
			}
			e := testenv.NewEnv(t)
			cmd := tc.run(proxy.Host)
			res := e.Exec(t, cmd[0], "", time.Minute, cmd[1:]...)
			if res.Code != tc.code || !strings.Contains(res.Stderr, tc.want) || len(res.Stderr) > 4096 {
				t.Fatalf("exit %d, stderr %q: want exit %d saying %q", res.Code, res.Stderr, tc.code, tc.want)
			}
			if tc.code != 0 {
				if r := e.Run(t, "images", "-q"); r.Stdout != "" {
					t.Errorf("a failed command stored an image: %q", r.Stdout)
				}
			}
		})
	}
}

// alterLayer flips a byte of the (only) layer blob of the OCI layout at
// dir, keeping its size.
func alterLayer(t *testing.T, dir string) {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(idx, &im); err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", im.Manifests[0].Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(mb, &mf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", mf.Layers[0].Digest.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServerTextEscapedAndCut: what a registry says is printed on one line
// per item, control characters (newline included) escaped, and cut short
// in messages.
func TestServerTextEscapedAndCut(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "app:v1", 1, 512)
	hugeRealm := `Bearer realm="https://` + strings.Repeat("r", 4<<20) + `/token",service="x"`
	for _, tc := range []struct {
		name   string
		fault  testenv.Fault
		args   []string
		code   int
		stdout string // exact, when code is 0
		maxErr int    // bytes of stderr at most
	}{
		{"tag with a newline", testenv.Fault{Method: "GET", PathRegexp: "/tags/list", Kind: testenv.FaultStatus, Status: 200,
			Body: `{"name":"app","tags":["v1\nv2-fake","v3\u001b[31m"]}`, Header: http.Header{"Content-Type": {"application/json"}}},
			[]string{"tags", "list", "HOST/app"}, 0, "v1\\nv2-fake\nv3\\x1b[31m\n", 1024},
		{"repository with a newline", testenv.Fault{Method: "GET", PathRegexp: "/_catalog", Kind: testenv.FaultStatus, Status: 200,
			Body: `{"repositories":["app\nfake/repo"]}`, Header: http.Header{"Content-Type": {"application/json"}}},
			[]string{"catalog", "HOST"}, 0, "app\\nfake/repo\n", 1024},
		{"4 MiB WWW-Authenticate realm", testenv.Fault{PathRegexp: "/v2/", Kind: testenv.FaultStatus, Status: 401,
			Header: http.Header{"Www-Authenticate": {hugeRealm}}},
			[]string{"digest", "HOST/app:v1"}, -1, "", 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := testenv.NewProxy(t, reg.URL, nil)
			proxy.AddFault(tc.fault)
			e := testenv.NewEnv(t)
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "HOST", proxy.Host))
			}
			res := e.Run(t, args...)
			switch {
			case tc.code >= 0 && (res.Code != tc.code || res.Stdout != tc.stdout):
				t.Fatalf("exit %d, stdout %q: want exit %d, %q", res.Code, res.Stdout, tc.code, tc.stdout)
			case tc.code < 0 && res.Code == 0:
				t.Fatalf("succeeded: %q", res.Stdout)
			case len(res.Stderr) > tc.maxErr:
				t.Fatalf("stderr has %d bytes, want at most %d: %.300q", len(res.Stderr), tc.maxErr, res.Stderr)
			}
		})
	}
}

// TestServerPlatformsEscaped: the platforms a registry's manifests and
// configs declare are its text too: inspect, tags list --long and pull
// print them with control characters escaped.
func TestServerPlatformsEscaped(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.OS, cf.Architecture = "linux", "amd64\x1b]0;owned\a"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(reg.ParseRef(t, "app:img"), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64\x1b[2J"}}})
	if err := remote.WriteIndex(reg.ParseRef(t, "app:idx"), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	e := testenv.NewEnv(t)
	for _, args := range [][]string{
		{"inspect", reg.Ref("app:idx")},
		{"tags", "list", "--long", reg.Ref("app")},
		{"pull", "--platform", "all", reg.Ref("app:idx")},
	} {
		res := e.Run(t, args...)
		wantCode(t, res, 0)
		if strings.ContainsAny(res.Stdout, "\x1b\a") || !strings.Contains(res.Stdout, `amd64\x1b`) {
			t.Errorf("ctl %s printed the platforms unescaped: %q", strings.Join(args, " "), res.Stdout)
		}
	}
}

// TestPinResolvesOnce: pin asks the registry about each distinct reference
// once, however many FROMs (in however many files) name it.
func TestPinResolvesOnce(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	for i := range 3 {
		reg.PushRandomImage(t, fmt.Sprintf("base%d:v1", i), 1, 256)
	}
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	var files []string
	for f := range 2 {
		var b strings.Builder
		for i := range 150 {
			fmt.Fprintf(&b, "FROM %s/base%d:v1 AS s%d\n", proxy.Host, i%3, i)
		}
		p := filepath.Join(e.Dir, fmt.Sprintf("Dockerfile.%d", f))
		writeFile(t, p, b.String())
		files = append(files, p)
	}
	res := e.Run(t, append([]string{"pin", "--dry-run"}, files...)...)
	wantCode(t, res, 0)
	if n := proxy.Count("", "/manifests/"); n != 3 {
		t.Fatalf("%d manifest requests for 300 FROMs naming 3 images, want 3", n)
	}
}
