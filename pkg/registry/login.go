package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ctl-dev/ctl/pkg/auth"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CheckCredentials checks username and password against the registry at
// host, as docker login does: GET /v2/ for the challenge, then basic auth,
// or the bearer-token exchange the challenge asks for (with
// offline_token=true, so a token server may issue a refresh token), then
// GET /v2/ with what it gave. It returns the refresh token as the identity
// token to store in place of the password ("" when none was issued). A
// refusal wraps auth.ErrBadCredentials. It has the auth.Verifier signature.
func (c *Client) CheckCredentials(ctx context.Context, host, username, password string) (string, error) {
	tok, err := c.checkCredentials(ctx, host, username, password)
	if err != nil {
		return "", redactError(err)
	}
	return tok, nil
}

func (c *Client) checkCredentials(ctx context.Context, host, username, password string) (string, error) {
	reg, err := name.NewRegistry(host, c.nameOptions(host)...)
	if err != nil {
		return "", fmt.Errorf("invalid registry %q: %w", host, err)
	}
	shown := ctltransport.ShownHost(reg.RegistryStr())
	pr, err := transport.Ping(ctx, reg, c.transport)
	if err != nil {
		return "", fmt.Errorf("contacting %s: %w", shown, err)
	}
	scheme := "https"
	if pr.Insecure {
		scheme = "http"
	}
	v2 := scheme + "://" + reg.RegistryStr() + "/v2/"
	switch strings.ToLower(pr.Scheme) {
	case "basic":
		return "", c.checkV2(ctx, shown, v2, func(r *http.Request) { r.SetBasicAuth(username, password) })
	case "bearer":
		tok, err := c.exchange(ctx, reg, pr, scheme == "http", username, password)
		if err != nil {
			return "", err
		}
		return tok.RefreshToken, c.checkV2(ctx, shown, v2, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+tok.Token)
		})
	case "":
		// The registry asks for no credentials; docker's login succeeds too.
		return "", nil
	}
	return "", fmt.Errorf("%s asks for %q authentication, which ctl does not support", shown, pr.Scheme)
}

// checkV2 sends GET /v2/ with the credentials set by authorize; host names
// the registry in errors.
func (c *Client) checkV2(ctx context.Context, host, v2 string, authorize func(*http.Request)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v2, nil)
	if err != nil {
		return err
	}
	authorize(req)
	resp, err := c.noRedirects().Do(req)
	if err != nil {
		return fmt.Errorf("contacting %s: %w", host, err)
	}
	defer resp.Body.Close()
	return refused(host, ctltransport.CheckError(resp, http.StatusOK))
}

// tokenResponse is a token server's answer.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// exchange trades username and password for a token at the challenge's
// realm. The realm must be https (http only for an insecure registry) and
// may not be a private or loopback IP literal unless it is the registry's
// own host:port (go-containerregistry's SSRF rule).
func (c *Client) exchange(ctx context.Context, reg name.Registry, pr *transport.Challenge, insecure bool, username, password string) (*tokenResponse, error) {
	host := reg.RegistryStr()
	shown := ctltransport.ShownHost(host)
	realm, err := url.Parse(pr.Parameters["realm"])
	if err != nil || realm.Host == "" {
		return nil, fmt.Errorf("%s: invalid token realm %q", shown, pr.Parameters["realm"])
	}
	if realm.Scheme != "https" && !(realm.Scheme == "http" && insecure) {
		return nil, fmt.Errorf("%s: refusing token realm %s: not https", shown, ctltransport.RedactURL(realm))
	}
	if realm.Host != host {
		if ip := net.ParseIP(realm.Hostname()); ip != nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
			return nil, fmt.Errorf("%s: refusing token realm %s: a private address", shown, ctltransport.RedactURL(realm))
		}
	}
	q := realm.Query()
	if s := pr.Parameters["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("account", username)
	q.Set("client_id", "ctl")
	q.Set("offline_token", "true")
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(username, password)
	resp, err := c.noRedirects().Do(req)
	if err != nil {
		return nil, fmt.Errorf("contacting the token server of %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if err := refused(shown, ctltransport.CheckError(resp, http.StatusOK)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, ctltransport.MaxTokenBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the token of %s: %w", shown, err)
	}
	if len(body) > ctltransport.MaxTokenBody {
		return nil, fmt.Errorf("the token server of %s answered more than %d bytes", shown, ctltransport.MaxTokenBody)
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, fmt.Errorf("the token server of %s answered no JSON: %w", shown, err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return nil, fmt.Errorf("the token server of %s issued no token", shown)
	}
	return &tok, nil
}

// refused turns a 401 or 403 into auth.ErrBadCredentials.
func refused(host string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w: %s refused the user name or password: %v", auth.ErrBadCredentials, host, refusedText(te, err))
	}
	return err
}

// noRedirects is an HTTP client that does not follow redirects: login
// sends credentials, which go to the registry and its realm only.
func (c *Client) noRedirects() *http.Client {
	return &http.Client{
		Transport:     c.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
