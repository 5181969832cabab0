package testenv

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// TokenService is the service name (the token's "aud") of registries
	// started with RegistryOptions.Token.
	TokenService = "ctl-testenv-registry"
	// TokenIssuer is the issuer (the token's "iss") of the token server.
	TokenIssuer = "ctl-testenv-token-server"

	// distributionLeeway is the clock skew distribution v3 tolerates on
	// "exp" (registry/auth/token.Leeway).
	distributionLeeway = 60 * time.Second
)

// TokenServer is a Docker-style token server (the "realm" of bearer-token
// auth) issuing ES256 JWTs with an x5c header, accepted by registries
// started with RegistryOptions.Token.
//
// GET requests carry optional basic auth and the query parameters service,
// scope (repeatable, space-separated lists allowed), offline_token and
// account. POST requests carry a form with grant_type=password (username,
// password) or grant_type=refresh_token (refresh_token), plus service and
// scope. Authenticated users get pull, push, delete and * on every
// repository and * on registry:catalog:*; anonymous clients get pull on the
// repositories under PublicRepos only; a wrong password or unknown refresh
// token answers 401.
//
// Tokens expire TTL after issue at the registry: the "exp" claim is set TTL
// minus distribution's 60 s leeway after "iat", so the registry rejects
// them on time while expires_in reports TTL.
type TokenServer struct {
	// URL is the realm, http://localhost:PORT/token. It names localhost,
	// not 127.0.0.1, because go-containerregistry refuses loopback IP
	// literal realms that are not the registry's own host:port.
	URL string
	// Host is localhost:PORT.
	Host string
	// Service is the expected service (the token's audience).
	Service string
	// Issuer is the token's issuer.
	Issuer string
	// TTL is the lifetime of issued tokens.
	TTL time.Duration
	// RootCertFile holds the certificate that signs the token signing
	// certificate (the registry's auth.token.rootcertbundle).
	RootCertFile string

	users       map[string]string
	publicRepos []string
	signer      *IssuedCert

	mu       sync.Mutex
	requests []TokenRequest
	refresh  map[string]string // refresh token -> user
}

// TokenRequest describes one request to the token server.
type TokenRequest struct {
	// Method is GET or POST.
	Method string
	// User is the authenticated user ("" for anonymous or failed auth).
	User string
	// GrantType is the POST grant_type, or "" for GET.
	GrantType string
	// Scopes are the requested scopes.
	Scopes []string
	// Status is the HTTP status answered.
	Status int
	// Time is when the request arrived.
	Time time.Time
}

// TokenOptions configures NewTokenServer.
type TokenOptions struct {
	// Users maps user names to passwords; default {"alice": "s3cret"}.
	Users map[string]string
	// PublicRepos are repository prefixes anonymous clients may pull.
	PublicRepos []string
	// TTL is the token lifetime; default 5m.
	TTL time.Duration
	// CA signs the token signing certificate; a new CA if nil.
	CA *CA
}

// NewTokenServer starts a token server on an ephemeral loopback port. It
// stops when the test ends.
func NewTokenServer(t testing.TB, o TokenOptions) *TokenServer {
	t.Helper()
	if o.CA == nil {
		o.CA = NewCA(t)
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	ts := &TokenServer{
		Service:      TokenService,
		Issuer:       TokenIssuer,
		TTL:          o.TTL,
		RootCertFile: o.CA.CertFile,
		users:        defaultUsers(o.Users),
		publicRepos:  append([]string(nil), o.PublicRepos...),
		signer:       o.CA.issueSigning(t, "ctl testenv token signer"),
		refresh:      map[string]string{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: token server: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ts.Host = "localhost:" + strconv.Itoa(port)
	ts.URL = "http://" + ts.Host + "/token"
	mux := http.NewServeMux()
	mux.HandleFunc("/token", ts.serveToken)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	// "localhost" may resolve to ::1 first; answer there too when possible.
	if ln6, err := net.Listen("tcp", "[::1]:"+strconv.Itoa(port)); err == nil {
		go func() { _ = srv.Serve(ln6) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

// Requests returns how many requests the token server has received.
func (ts *TokenServer) Requests() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.requests)
}

// RequestLog returns a copy of the requests received so far.
func (ts *TokenServer) RequestLog() []TokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]TokenRequest(nil), ts.requests...)
}

// Reset forgets the requests received so far.
func (ts *TokenServer) Reset() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = nil
}

// Issue returns a signed token for user ("" for anonymous) granting what
// the server would grant for the scopes (e.g. "repository:foo:pull,push").
func (ts *TokenServer) Issue(user string, scopes ...string) string {
	tok, _ := ts.sign(user, ts.grant(user, scopes))
	return tok
}

// NewRefreshToken returns a fresh refresh token (an identity token, in
// Docker's terms) for user, usable with grant_type=refresh_token.
func (ts *TokenServer) NewRefreshToken(user string) string {
	tok := randomHex(16)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.refresh[tok] = user
	return tok
}

type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (ts *TokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	rec := TokenRequest{Method: r.Method, Time: time.Now()}
	defer func() {
		ts.mu.Lock()
		ts.requests = append(ts.requests, rec)
		ts.mu.Unlock()
	}()
	fail := func(status int, code, msg string) {
		rec.Status = status
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="ctl-testenv"`)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"errors":            []map[string]string{{"code": code, "message": msg}},
			"error":             strings.ToLower(code),
			"error_description": msg,
		})
	}

	var (
		user        string
		wantRefresh bool
		scopes      []string
		service     string
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		service = q.Get("service")
		scopes = splitScopes(q["scope"])
		rec.Scopes = scopes
		if u, p, ok := r.BasicAuth(); ok {
			if !ts.checkPassword(u, p) {
				fail(http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password")
				return
			}
			user = u
			wantRefresh = q.Get("offline_token") == "true"
		} else if r.Header.Get("Authorization") != "" {
			fail(http.StatusUnauthorized, "UNAUTHORIZED", "unsupported authorization")
			return
		}
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			fail(http.StatusBadRequest, "UNSUPPORTED", "bad form: "+err.Error())
			return
		}
		service = r.PostForm.Get("service")
		scopes = splitScopes(r.PostForm["scope"])
		rec.Scopes = scopes
		rec.GrantType = r.PostForm.Get("grant_type")
		switch rec.GrantType {
		case "password":
			u, p := r.PostForm.Get("username"), r.PostForm.Get("password")
			if !ts.checkPassword(u, p) {
				fail(http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password")
				return
			}
			user, wantRefresh = u, true
		case "refresh_token":
			ts.mu.Lock()
			u, ok := ts.refresh[r.PostForm.Get("refresh_token")]
			ts.mu.Unlock()
			if !ok {
				fail(http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token")
				return
			}
			user = u
		default:
			fail(http.StatusBadRequest, "UNSUPPORTED", "unsupported grant_type")
			return
		}
	default:
		fail(http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
		return
	}
	if service != "" && service != ts.Service {
		fail(http.StatusBadRequest, "UNSUPPORTED", "unknown service "+service)
		return
	}
	rec.User = user

	access := ts.grant(user, scopes)
	tok, iat := ts.sign(user, access)
	resp := tokenResponse{
		Token:       tok,
		AccessToken: tok,
		ExpiresIn:   int(ts.TTL / time.Second),
		IssuedAt:    iat.UTC().Format(time.RFC3339),
		Scope:       strings.Join(scopes, " "),
	}
	if resp.ExpiresIn < 1 {
		resp.ExpiresIn = 1
	}
	if wantRefresh {
		resp.RefreshToken = ts.NewRefreshToken(user)
	}
	rec.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (ts *TokenServer) checkPassword(user, pass string) bool {
	want, ok := ts.users[user]
	return ok && want == pass
}

type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// grant computes the access the token server gives user for scopes.
func (ts *TokenServer) grant(user string, scopes []string) []resourceActions {
	access := []resourceActions{}
	for _, s := range scopes {
		typ, rest, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		name, actions := rest[:i], strings.Split(rest[i+1:], ",")
		var granted []string
		switch {
		case user != "" && typ == "repository":
			granted = intersect(actions, "pull", "push", "delete", "*")
		case user != "" && typ == "registry" && name == "catalog":
			granted = intersect(actions, "*")
		case user == "" && typ == "repository" && ts.isPublic(name):
			granted = intersect(actions, "pull")
		}
		if len(granted) > 0 {
			access = append(access, resourceActions{Type: typ, Name: name, Actions: granted})
		}
	}
	return access
}

func (ts *TokenServer) isPublic(repo string) bool {
	for _, p := range ts.publicRepos {
		p = strings.TrimSuffix(p, "/")
		if p == "" || repo == p || strings.HasPrefix(repo, p+"/") {
			return true
		}
	}
	return false
}

// sign makes an ES256 JWT with an x5c header (distribution v3 rejects a
// computed "kid" for some EC keys; x5c always works).
func (ts *TokenServer) sign(user string, access []resourceActions) (string, time.Time) {
	now := time.Now()
	header := map[string]any{
		"alg": "ES256",
		"typ": "JWT",
		"x5c": []string{base64.StdEncoding.EncodeToString(ts.signer.Cert.Raw)},
	}
	claims := map[string]any{
		"iss":    ts.Issuer,
		"sub":    user,
		"aud":    ts.Service,
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(ts.TTL - distributionLeeway).Unix(),
		"jti":    randomHex(16),
		"access": access,
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signingInput := enc(header) + "." + enc(claims)
	sig, err := signES256(ts.signer.Key, signingInput)
	if err != nil {
		panic(err)
	}
	return signingInput + "." + sig, now
}

func signES256(key *ecdsa.PrivateKey, input string) (string, error) {
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return "", err
	}
	if r.BitLen() > 256 || s.BitLen() > 256 {
		return "", errors.New("ES256 signature too long")
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

func splitScopes(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

func intersect(actions []string, allowed ...string) []string {
	var out []string
	for _, a := range actions {
		for _, b := range allowed {
			if a == b {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func defaultUsers(users map[string]string) map[string]string {
	if len(users) == 0 {
		return map[string]string{"alice": "s3cret"}
	}
	out := make(map[string]string, len(users))
	for k, v := range users {
		out[k] = v
	}
	return out
}
