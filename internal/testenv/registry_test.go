package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// do sends a request and returns the status and body.
func do(t *testing.T, c *http.Client, method, u string, hdr http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func pushAndGet(t *testing.T, r *Registry, repo string) {
	t.Helper()
	img := r.PushRandomImage(t, repo, 2, 1024)
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r.ParseRef(t, repo), r.RemoteOptions()...)
	if err != nil {
		t.Fatalf("remote.Get: %v", err)
	}
	if desc.Digest != want {
		t.Fatalf("digest = %s, want %s", desc.Digest, want)
	}
}

func TestPlainRegistryDeleteEnabled(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{DeleteEnabled: true})
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") || r.Host != strings.TrimPrefix(r.URL, "http://") {
		t.Fatalf("URL %q Host %q", r.URL, r.Host)
	}
	if r.CACertFile != "" || r.Token != nil {
		t.Fatalf("unexpected TLS/token: %+v", r)
	}
	pushAndGet(t, r, "plain/app:v1")
	desc, err := remote.Head(r.ParseRef(t, "plain/app:v1"), r.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	st, _, body := do(t, r.Client(), http.MethodDelete, r.URL+"/v2/plain/app/manifests/"+desc.Digest.String(), nil)
	if st != http.StatusAccepted {
		t.Fatalf("DELETE = %d %s, want 202", st, body)
	}
	st, _, _ = do(t, r.Client(), http.MethodGet, r.URL+"/v2/plain/app/manifests/v1", nil)
	if st != http.StatusNotFound {
		t.Fatalf("GET after delete = %d, want 404", st)
	}
}

func TestPlainRegistryDeleteDisabled(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{})
	pushAndGet(t, r, "nodelete/app:v1")
	desc, err := remote.Head(r.ParseRef(t, "nodelete/app:v1"), r.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	st, _, body := do(t, r.Client(), http.MethodDelete, r.URL+"/v2/nodelete/app/manifests/"+desc.Digest.String(), nil)
	if st != http.StatusMethodNotAllowed || !strings.Contains(body, "UNSUPPORTED") {
		t.Fatalf("DELETE = %d %s, want 405 UNSUPPORTED", st, body)
	}
}

func TestHTPasswdTLS(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{HTPasswd: true, Users: map[string]string{"bob": "pw1", "carol": "pw2"}})
	if !strings.HasPrefix(r.URL, "https://127.0.0.1:") || r.CACertFile == "" || len(r.CAPEM) == 0 {
		t.Fatalf("URL %q CA %q", r.URL, r.CACertFile)
	}
	// Without the CA the certificate is not trusted.
	plain := &http.Client{Transport: &http.Transport{Proxy: nil}}
	if _, err := plain.Get(r.URL + "/v2/"); err == nil {
		t.Fatal("GET without the CA pool succeeded")
	}
	c := r.Client()
	st, hdr, _ := do(t, c, http.MethodGet, r.URL+"/v2/", nil)
	if st != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous GET /v2/ = %d %q", st, hdr.Get("WWW-Authenticate"))
	}
	basic := func(u, p string) http.Header {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(u, p)
		return req.Header
	}
	if st, _, _ := do(t, c, http.MethodGet, r.URL+"/v2/", basic("bob", "wrong")); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", st)
	}
	if st, _, _ := do(t, c, http.MethodGet, r.URL+"/v2/", basic("carol", "pw2")); st != http.StatusOK {
		t.Fatalf("right password: %d", st)
	}
	if u, p := r.User(); u != "bob" || p != "pw1" {
		t.Fatalf("User() = %q %q", u, p)
	}
	pushAndGet(t, r, "secure/app:v1")
	// ggcr with a wrong password fails with 401.
	_, err := remote.Get(r.ParseRef(t, "secure/app:v1"), remote.WithTransport(r.Transport()),
		remote.WithAuth(&authn.Basic{Username: "bob", Password: "nope"}))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password via ggcr: %v", err)
	}
}

func TestMTLS(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{ClientCA: true})
	if r.ClientCertFile == "" || r.ClientKeyFile == "" || !strings.HasPrefix(r.URL, "https://") {
		t.Fatalf("registry %+v", r)
	}
	tr := r.Transport()
	tr.TLSClientConfig.Certificates = nil
	noCert := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := noCert.Get(r.URL + "/v2/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET without a client certificate = %d, want a TLS error", resp.StatusCode)
	}
	if st, _, _ := do(t, r.Client(), http.MethodGet, r.URL+"/v2/", nil); st != http.StatusOK {
		t.Fatalf("GET with a client certificate = %d", st)
	}
	pushAndGet(t, r, "mtls/app:v1")
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{Token: true, DeleteEnabled: true, PublicRepos: []string{"public"}})
	ts := r.Token
	if !strings.HasPrefix(ts.URL, "http://localhost:") || !strings.HasSuffix(ts.URL, "/token") {
		t.Fatalf("realm %q", ts.URL)
	}
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Fatalf("registry URL %q", r.URL)
	}
	c := r.Client()
	st, hdr, _ := do(t, c, http.MethodGet, r.URL+"/v2/", nil)
	if st != http.StatusUnauthorized || !strings.Contains(hdr.Get("WWW-Authenticate"), `realm="`+ts.URL+`"`) {
		t.Fatalf("GET /v2/ = %d %q", st, hdr.Get("WWW-Authenticate"))
	}

	// Push needs login; pushing with credentials works.
	before := ts.Requests()
	pushAndGet(t, r, "public/app:v1")
	pushAndGet(t, r, "private/app:v1")
	if ts.Requests() <= before {
		t.Fatalf("token requests: %d -> %d", before, ts.Requests())
	}

	anon := []remote.Option{remote.WithTransport(r.Transport()), remote.WithAuth(authn.Anonymous)}
	if _, err := remote.Get(r.ParseRef(t, "public/app:v1"), anon...); err != nil {
		t.Fatalf("anonymous pull of a public repo: %v", err)
	}
	var terr *transport.Error
	if _, err := remote.Get(r.ParseRef(t, "private/app:v1"), anon...); !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous pull of a private repo: %v", err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r.ParseRef(t, "public/app:v2"), img, anon...); err == nil {
		t.Fatal("anonymous push to a public repo succeeded")
	}
	wrong := []remote.Option{remote.WithTransport(r.Transport()), remote.WithAuth(&authn.Basic{Username: "alice", Password: "bad"})}
	if _, err := remote.Get(r.ParseRef(t, "public/app:v1"), wrong...); err == nil {
		t.Fatal("pull with a wrong password succeeded")
	}

	// Token endpoint directly: GET with basic auth and offline_token.
	q := url.Values{"service": {TokenService}, "scope": {"repository:private/app:pull,push", "registry:catalog:*"}, "offline_token": {"true"}}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"?"+q.Encode(), nil)
	req.SetBasicAuth("alice", "s3cret")
	tok := getToken(t, req)
	if tok.RefreshToken == "" || tok.Token == "" || tok.Token != tok.AccessToken || tok.ExpiresIn != 300 || tok.IssuedAt == "" {
		t.Fatalf("token response %+v", tok)
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok.Token}}
	if st, _, body := do(t, c, http.MethodGet, r.URL+"/v2/_catalog", bearer); st != http.StatusOK || !strings.Contains(body, "private/app") {
		t.Fatalf("catalog = %d %s", st, body)
	}
	// Refresh-token grant via POST.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "service": {TokenService},
		"scope": {"repository:private/app:pull"}, "client_id": {"ctl"}}
	req, _ = http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tok2 := getToken(t, req)
	if st, _, _ := do(t, c, http.MethodGet, r.URL+"/v2/private/app/tags/list", http.Header{"Authorization": {"Bearer " + tok2.AccessToken}}); st != http.StatusOK {
		t.Fatalf("tags/list with a refreshed token = %d", st)
	}
	// Password grant via POST returns a refresh token; a wrong one is 401.
	form = url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"s3cret"}, "service": {TokenService}, "client_id": {"ctl"}}
	req, _ = http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tok3 := getToken(t, req); tok3.RefreshToken == "" {
		t.Fatalf("password grant without refresh token: %+v", tok3)
	}
	form.Set("password", "nope")
	resp, err := http.PostForm(ts.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password grant = %d", resp.StatusCode)
	}
	// Anonymous tokens carry pull on public repositories only.
	if st, _, _ := do(t, c, http.MethodGet, r.URL+"/v2/private/app/tags/list",
		http.Header{"Authorization": {"Bearer " + ts.Issue("", "repository:private/app:pull")}}); st != http.StatusUnauthorized {
		t.Fatalf("anonymous token on a private repo = %d", st)
	}
	if st, _, _ := do(t, c, http.MethodGet, r.URL+"/v2/public/app/tags/list",
		http.Header{"Authorization": {"Bearer " + ts.Issue("", "repository:public/app:pull")}}); st != http.StatusOK {
		t.Fatalf("anonymous token on a public repo = %d", st)
	}
	log := ts.RequestLog()
	if len(log) != ts.Requests() || log[0].Status == 0 {
		t.Fatalf("request log %+v", log)
	}
}

func TestTokenTTL(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{Token: true, TokenTTL: 2 * time.Second})
	q := url.Values{"service": {TokenService}, "scope": {"repository:ttl/app:pull"}}
	req, _ := http.NewRequest(http.MethodGet, r.Token.URL+"?"+q.Encode(), nil)
	req.SetBasicAuth("alice", "s3cret")
	tok := getToken(t, req)
	if tok.ExpiresIn != 2 {
		t.Fatalf("expires_in = %d", tok.ExpiresIn)
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok.Token}}
	u := r.URL + "/v2/ttl/app/tags/list"
	if st, _, body := do(t, r.Client(), http.MethodGet, u, bearer); st != http.StatusNotFound {
		t.Fatalf("fresh token = %d %s, want 404 NAME_UNKNOWN", st, body)
	}
	time.Sleep(3200 * time.Millisecond)
	if st, _, _ := do(t, r.Client(), http.MethodGet, u, bearer); st != http.StatusUnauthorized {
		t.Fatalf("expired token = %d, want 401", st)
	}
}

type tokenJSON struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token"`
}

func getToken(t *testing.T, req *http.Request) tokenJSON {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokenJSON
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("token %s = %d %s", req.Method, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRegistryStop(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{})
	r.Stop()
	r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v2/", nil)
	if resp, err := r.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("registry still answering after Stop")
	}
	if !strings.Contains(r.Log(), "listening on "+r.Host) {
		t.Fatalf("log lacks the listening line:\n%s", r.Log())
	}
}
