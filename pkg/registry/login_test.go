package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
)

// TestTokenRealmRules: login sends the password only to a realm that is
// https (http only for an insecure registry) and is not a private or
// loopback address other than the registry's own host:port; it follows no
// redirect from the token server and reads a bounded token body. The
// token exchange of every other command refuses the same realms.
func TestTokenRealmRules(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		fmt.Fprint(w, `{"token":"t"}`)
	}))
	// Parallel subtests run after this function returns: the checks that
	// follow them are cleanups.
	t.Cleanup(func() {
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the password went to %s %d times", other.URL, n)
		}
		other.Close()
	})
	for _, tc := range []struct {
		name   string
		realm  string // "" for the registry's own /token
		token  func(w http.ResponseWriter, r *http.Request)
		errSub string // "" when login succeeds
	}{
		{name: "own host:port", errSub: ""},
		{name: "http realm", realm: "http://localhost:" + fmt.Sprint(other.Listener.Addr().(*net.TCPAddr).Port) + "/token", errSub: "not https"},
		{name: "loopback realm on another port", realm: other.URL + "/token", errSub: "a private address"},
		{name: "token server redirects", token: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
		}, errSub: "307"},
		{name: "endless token body", token: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"token":"`+strings.Repeat("a", ctltransport.MaxTokenBody)+`"}`)
		}, errSub: fmt.Sprintf("%d bytes", ctltransport.MaxTokenBody)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *httptest.Server
			srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/token" && tc.token != nil:
					tc.token(w, r)
				case r.URL.Path == "/token":
					if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					fmt.Fprint(w, `{"token":"good"}`)
				case r.Header.Get("Authorization") == "Bearer good":
					w.WriteHeader(http.StatusOK)
				default:
					realm := tc.realm
					if realm == "" {
						realm = srv.URL + "/token"
					}
					w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="reg"`)
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			defer srv.Close()
			c, err := New(WithTransport(srv.Client().Transport))
			if err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(srv.URL, "https://")
			_, err = c.CheckCredentials(context.Background(), host, "alice", "pw")
			switch {
			case tc.errSub == "" && err != nil:
				t.Errorf("login: %v", err)
			case tc.errSub != "" && (err == nil || !strings.Contains(err.Error(), tc.errSub)):
				t.Errorf("login: %v, want an error with %q", err, tc.errSub)
			}
			// Every other command's token exchange (go-containerregistry's)
			// refuses the same realms.
			if tc.realm != "" {
				if _, err := c.ListTags(context.Background(), mustRef(t, host+"/r"), 0); err == nil || !strings.Contains(err.Error(), "realm") {
					t.Errorf("tags list: %v, want a realm error", err)
				}
			}
		})
	}
}
