package registry

// End-to-end tests of the Client's transport and credentials against the
// real distribution registry from internal/testenv (with its fault proxy,
// token server and snoop server).

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/auth"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// fast are transport settings that keep fault tests quick.
var fast = []Option{
	WithRetryPolicy(ctltransport.RetryPolicy{Attempts: 4, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxTime: 20 * time.Second, MaxRetryAfter: 5 * time.Second}),
	WithTimeouts(2*time.Second, 2*time.Second),
}

// loggedIn returns a Client whose keychain holds user's credentials for
// host, stored by auth.Login after checking them.
func loggedIn(t *testing.T, host, user, pass string, opts ...Option) *Client {
	t.Helper()
	dir := t.TempDir()
	opts = append([]Option{WithKeychain(auth.NewKeychain(dir)), WithCertsDirs()}, opts...)
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Login(context.Background(), auth.LoginOptions{Dir: dir, Server: host, Username: user, Password: pass, Verify: c.CheckCredentials}); err != nil {
		t.Fatalf("login to %s: %v", host, err)
	}
	return c
}

func anonymous(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := New(append([]Option{WithKeychain(auth.NewKeychain(t.TempDir())), WithCertsDirs()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// head resolves s with a manifest HEAD (ctl digest).
func (c *Client) head(t *testing.T, s string) error {
	t.Helper()
	_, _, err := c.Digest(context.Background(), mustRef(t, s), nil)
	return err
}

// push pushes a random image with layers layers to s.
func (c *Client) push(t *testing.T, s string, layers int) error {
	t.Helper()
	img, err := random.Image(2048, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	r := mustRef(t, s)
	_, err = c.Push(context.Background(), r, []PushTag{{Tag: r.Tag(), Artifact: img}}, PushOptions{})
	return err
}

// get reads the manifest s names (ctl manifest get).
func (c *Client) get(t *testing.T, s string) error {
	t.Helper()
	_, err := c.GetManifest(context.Background(), mustRef(t, s), nil)
	return err
}

func TestClientHTPasswd(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 512)
	user, pass := reg.User()
	ca := WithCAFiles(reg.CACertFile)

	c := loggedIn(t, reg.Host, user, pass, ca)
	if err := c.head(t, reg.Ref("team/app:v1")); err != nil {
		t.Errorf("head after login: %v", err)
	}
	if err := c.push(t, reg.Ref("team/new:v1"), 2); err != nil {
		t.Errorf("push after login: %v", err)
	}
	err := anonymous(t, ca).head(t, reg.Ref("team/app:v1"))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Host != reg.Host {
		t.Errorf("anonymous head: %v, want an AuthError for %s", err, reg.Host)
	}
	if _, err := anonymous(t, ca).CheckCredentials(context.Background(), reg.Host, user, "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("wrong password: %v, want ErrBadCredentials", err)
	}
	// Without the CA: an x509 error, and no plain-HTTP fallback.
	err = anonymous(t).head(t, reg.Ref("team/app:v1"))
	if err == nil || !strings.Contains(err.Error(), "x509") {
		t.Errorf("untrusted: %v, want an x509 error", err)
	}
}

func TestClientToken(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true, PublicRepos: []string{"public/"}})
	reg.PushRandomImage(t, "public/app:v1", 1, 512)
	reg.PushRandomImage(t, "private/app:v1", 1, 512)
	user, pass := reg.User()

	anon := anonymous(t)
	if err := anon.head(t, reg.Ref("public/app:v1")); err != nil {
		t.Errorf("anonymous pull of a public repository: %v", err)
	}
	var ae *AuthError
	if err := anon.head(t, reg.Ref("private/app:v1")); !errors.As(err, &ae) {
		t.Errorf("anonymous pull of a private repository: %v, want AuthError", err)
	}
	if err := anon.push(t, reg.Ref("public/mine:v1"), 1); !errors.As(err, &ae) {
		t.Errorf("anonymous push: %v, want AuthError", err)
	} else if strings.Contains(err.Error(), "ContentLength") {
		t.Errorf("anonymous push: %v", err)
	}

	c := loggedIn(t, reg.Host, user, pass)
	if err := c.head(t, reg.Ref("private/app:v1")); err != nil {
		t.Errorf("head after login: %v", err)
	}
	if err := c.push(t, reg.Ref("private/new:v1"), 2); err != nil {
		t.Errorf("push after login: %v", err)
	}
}

// A token that expires during a slow sequence of operations is refreshed
// and the sequence completes.
func TestClientTokenExpiry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true, TokenTTL: 3 * time.Second})
	proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	proxy.SetDelay(300 * time.Millisecond)
	user, pass := reg.User()
	c := loggedIn(t, proxy.Host, user, pass)
	start := time.Now()
	for i := 0; time.Since(start) < 8*time.Second; i++ {
		if err := c.push(t, proxy.Host+"/slow/app:v1", 3); err != nil {
			t.Fatalf("push %d after %s: %v", i, time.Since(start), err)
		}
		if err := c.head(t, proxy.Host+"/slow/app:v1"); err != nil {
			t.Fatalf("head %d after %s: %v", i, time.Since(start), err)
		}
	}
	if n := reg.Token.Requests(); n < 2 {
		t.Errorf("%d token requests in 8 s with a 3 s lifetime", n)
	}
}

// faulty is an htpasswd registry behind a fault proxy, with a logged-in
// client for the proxy and an image to fetch.
func faulty(t *testing.T, opts ...Option) (*testenv.Proxy, *Client, string) {
	t.Helper()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 4096)
	proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	user, pass := reg.User()
	c := loggedIn(t, proxy.Host, user, pass, append(append([]Option{}, fast...), opts...)...)
	return proxy, c, proxy.Host + "/team/app:v1"
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	proxy, c, ref := faulty(t)
	manifests := "/v2/team/app/manifests/"

	t.Run("resets", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Times: 2, Kind: testenv.FaultDropBeforeResponse})
		if err := c.head(t, ref); err != nil {
			t.Errorf("head through two resets: %v", err)
		}
	})
	t.Run("503s", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Times: 2, Kind: testenv.FaultStatus, Status: 503})
		if err := c.head(t, ref); err != nil {
			t.Errorf("head through two 503s: %v", err)
		}
	})
	t.Run("503s run out", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Kind: testenv.FaultStatus, Status: 503})
		proxy.Reset()
		err := c.head(t, ref)
		var re *ctltransport.RetryError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "giving up on "+proxy.Host+" after 4 attempts") {
			t.Errorf("endless 503s: %v", err)
		}
		if n := proxy.Count("HEAD", manifests); n != 4 {
			t.Errorf("%d HEADs, want 4 (bounded)", n)
		}
	})
	t.Run("manifest cut mid-body", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: manifests, Times: 2, Kind: testenv.FaultDropMidBody, Bytes: 10})
		proxy.Reset()
		if err := c.get(t, ref); err != nil {
			t.Errorf("get through two cut bodies: %v", err)
		}
		if n := proxy.Count("GET", manifests); n != 3 {
			t.Errorf("%d manifest GETs, want 3", n)
		}
	})
	t.Run("429 Retry-After is honoured", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Times: 1, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "2"})
		start := time.Now()
		if err := c.head(t, ref); err != nil {
			t.Errorf("head through a 429: %v", err)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("retried after %s, want at least the 2 s Retry-After", d)
		}
	})
	t.Run("429 beyond the cap says when to retry", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Times: 1, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "3600"})
		start := time.Now()
		err := c.head(t, ref)
		if err == nil || !strings.Contains(err.Error(), "asks to retry after") || time.Since(start) > 2*time.Second {
			t.Errorf("429 for an hour: %v after %s", err, time.Since(start))
		}
	})
	t.Run("a server that never answers times out", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: manifests, Kind: testenv.FaultHang})
		start := time.Now()
		err := c.head(t, ref)
		if err == nil || !strings.Contains(err.Error(), "timeout") || time.Since(start) > 15*time.Second {
			t.Errorf("hanging server: %v after %s", err, time.Since(start))
		}
	})
	t.Run("401 on a manifest PUT is an AuthError", func(t *testing.T) {
		proxy.ClearFaults()
		proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/manifests/", Kind: testenv.FaultStatus, Status: 401,
			Body:   `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`,
			Header: http.Header{"Www-Authenticate": {`Basic realm="ctl-testenv"`}}})
		err := c.push(t, proxy.Host+"/team/pushed:v1", 1)
		var ae *AuthError
		if !errors.As(err, &ae) || strings.Contains(err.Error(), "ContentLength") {
			t.Errorf("401 on PUT: %v, want AuthError", err)
		}
	})
	proxy.ClearFaults()
}

// A redirect to another host must not carry the registry's credentials.
func TestClientRedirectDropsCredentials(t *testing.T) {
	t.Parallel()
	proxy, c, ref := faulty(t)
	snoop := testenv.NewSnoopServer(t)
	r := mustRef(t, ref)
	sink := newMemSink()
	if _, err := c.Pull(context.Background(), r, sink, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// Serve the image's blobs from the snoop host so that a second pull
	// completes through the redirects.
	var redirected []string
	for d, b := range sink.blobs {
		snoop.Serve("/blobs/"+d.String(), b)
		redirected = append(redirected, d.String())
		proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + d.String(), Kind: testenv.FaultRedirect, Location: snoop.URL + "/blobs/" + d.String()})
	}
	if _, err := c.Pull(context.Background(), r, newMemSink(), PullOptions{}); err != nil {
		t.Fatalf("pull through redirects to %v: %v", redirected, err)
	}
	if len(snoop.Requests()) == 0 {
		t.Fatal("the snoop server saw no request")
	}
	if snoop.SawAuthorization() {
		t.Errorf("the redirect target received Authorization")
	}
}

// An upload Location on another host gets the upload, as given, but not
// the registry's credentials.
func TestUploadLocationElsewhereGetsNoCredentials(t *testing.T) {
	t.Parallel()
	proxy, c, _ := faulty(t)
	snoop := testenv.NewSnoopServer(t)
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/blobs/uploads/", Kind: testenv.FaultStatus, Status: http.StatusAccepted,
		Header: http.Header{"Location": {snoop.URL + "/upload/1?_state=abc"}}})
	if err := c.push(t, proxy.Host+"/team/elsewhere:v1", 1); err == nil {
		t.Fatal("push to an upload Location that refuses it succeeded")
	}
	var puts int
	for _, r := range snoop.Requests() {
		if r.Method == http.MethodPut && r.Path == "/upload/1" {
			puts++
		}
	}
	if puts == 0 {
		t.Fatalf("no upload PUT reached the Location; requests: %v", snoop.Requests())
	}
	if snoop.SawAuthorization() {
		t.Errorf("the upload Location on another host received Authorization")
	}
}

// Sequential requests reuse one connection per registry; the token is
// fetched once per scope set, not per request.
func TestClientReuse(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 512)
	proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	user, pass := reg.User()
	c := loggedIn(t, proxy.Host, user, pass)
	ref := proxy.Host + "/team/app:v1"
	if err := c.head(t, ref); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	reg.Token.Reset()
	for range 5 {
		if err := c.head(t, ref); err != nil {
			t.Fatal(err)
		}
		if err := c.get(t, ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := proxy.Connections(); n > 1 {
		t.Errorf("%d new connections for 10 sequential requests, want at most 1", n)
	}
	if n := proxy.Count("GET", "^/v2/$"); n > 0 {
		t.Errorf("%d pings for 10 requests, want 0 (the challenge is reused)", n)
	}
	if n := reg.Token.Requests(); n > 0 {
		t.Errorf("%d token requests for 10 requests to one repository, want 0 (cached)", n)
	}
}

// A 401 with a bearer challenge in the middle of a push (a token that
// expired, as the registry sees it) is answered by a new token and the
// request is sent again with its body, reopened through GetBody: the
// manifest PUT and a blob's monolithic upload PUT.
func TestClientTokenRefreshMidPush(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
	proxy := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	user, pass := reg.User()
	c := loggedIn(t, proxy.Host, user, pass, fast...)
	challenge := http.Header{"Www-Authenticate": {`Bearer realm="` + reg.Token.URL + `",service="` + reg.Token.Service + `",scope="repository:mid/app:pull,push"`}}
	body := `{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}`
	proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/manifests/", Times: 1, Kind: testenv.FaultStatus, Status: 401, Header: challenge, Body: body})
	proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/blobs/uploads/", Times: 1, Kind: testenv.FaultStatus, Status: 401, Header: challenge, Body: body})
	if err := c.push(t, proxy.Host+"/mid/app:v1", 2); err != nil {
		t.Fatalf("push with a token refused mid-way: %v", err)
	}
	if err := c.head(t, proxy.Host+"/mid/app:v1"); err != nil {
		t.Errorf("head of the pushed image: %v", err)
	}
	if n := proxy.Count("PUT", "/manifests/"); n != 2 {
		t.Errorf("%d manifest PUTs, want 2 (refused, then re-sent)", n)
	}
	// Three blobs (two layers, the config), one upload refused and re-sent.
	if n, posts := proxy.Count("PUT", "/blobs/uploads/"), proxy.Count("POST", "/blobs/uploads/"); n != 4 || posts != 3 {
		t.Errorf("%d blob PUTs for %d uploads, want 4 for 3 (one refused, then re-sent)", n, posts)
	}
}

// Credentials crane stores are used by the Client (and so by every ctl
// command): both read docker's config.json.
func TestClientUsesCraneLogin(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 512)
	user, pass := reg.User()
	e := testenv.NewEnv(t)
	if r := e.Crane(t, "auth", "login", reg.Host, "-u", user, "-p", pass); r.Code != 0 {
		t.Fatalf("crane auth login: exit %d", r.Code)
	}
	c, err := New(WithKeychain(auth.NewKeychain(e.DockerConfig)), WithCertsDirs(), WithCAFiles(reg.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.head(t, reg.Ref("team/app:v1")); err != nil {
		t.Errorf("head with crane's credentials: %v", err)
	}
}

// A layer whose connection is cut mid-body, twice, is resumed from the byte
// reached with Range requests (the real registry answers 206), and stored
// whole; when the cuts outlast the retry policy the pull fails and stores
// nothing.
func TestPullResumesCutBlob(t *testing.T) {
	t.Parallel()
	proxy, c, ref := faulty(t)
	r := mustRef(t, ref)
	m, err := c.GetManifest(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseManifest(bytes.NewReader(m.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	layer := im.Layers[0]
	layerPath := "/v2/team/app/blobs/" + layer.Digest.String()

	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: layerPath, Times: 2, Kind: testenv.FaultDropMidBody, Bytes: 1000})
	proxy.Reset()
	sink := newMemSink()
	if _, err := c.Pull(context.Background(), r, sink, PullOptions{}); err != nil {
		t.Fatalf("pull through two cuts: %v", err)
	}
	if got := len(sink.blobs[layer.Digest]); int64(got) != layer.Size {
		t.Errorf("stored %d bytes of the layer, want %d", got, layer.Size)
	}
	var ranges []string
	for _, rec := range proxy.Requests() {
		if rec.Method == "GET" && rec.Path == layerPath {
			ranges = append(ranges, rec.Range)
		}
	}
	if want := []string{"", "bytes=1000-", "bytes=2000-"}; !slices.Equal(ranges, want) {
		t.Errorf("layer GETs with Range %q, want %q", ranges, want)
	}

	proxy.ClearFaults()
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: layerPath, Kind: testenv.FaultDropMidBody, Bytes: 100})
	proxy.Reset()
	sink = newMemSink()
	if _, err := c.Pull(context.Background(), r, sink, PullOptions{}); err == nil || len(sink.tags) != 0 {
		t.Errorf("pull through endless cuts: err %v, stored %v", err, sink.tags)
	}
	if n := proxy.Count("GET", layerPath); n != 4 {
		t.Errorf("%d layer GETs through endless cuts, want 4 (the policy's attempts)", n)
	}
}
