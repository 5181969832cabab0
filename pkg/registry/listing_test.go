package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
)

// fakeServer serves /v2/ and hands everything else to h.
func fakeServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func mustRef(t *testing.T, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTestClient(t *testing.T) *Client {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListTagsPagination(t *testing.T) {
	t.Parallel()
	other := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"tags":["evil"]}`) })
	tests := []struct {
		name     string
		link     func(r *http.Request, page int) string // Link header for page (0-based)
		wantTags int                                    // tags expected on success
		wantErr  string                                 // error substring, "" for success
		maxReqs  int64                                  // requests allowed
	}{
		{name: "three pages", link: func(_ *http.Request, p int) string {
			if p < 2 {
				return fmt.Sprintf(`</v2/r/tags/list?last=p%d&n=2>; rel="next"`, p)
			}
			return ""
		}, wantTags: 6, maxReqs: 3},
		{name: "self-referencing link is broken pagination", link: func(r *http.Request, _ int) string {
			return "<" + r.URL.RequestURI() + `>; rel="next"`
		}, wantErr: "page 1 links back to", maxReqs: 1},
		{name: "loop back to an earlier page is broken pagination", link: func(_ *http.Request, p int) string {
			return fmt.Sprintf(`</v2/r/tags/list?last=p%d>; rel="next"`, p%2)
		}, wantErr: "page 3 links back to", maxReqs: 3},
		{name: "cross-origin link refused", link: func(*http.Request, int) string {
			return "<" + other.URL + `/v2/r/tags/list?last=x>; rel="next"`
		}, wantErr: "another origin", maxReqs: 1},
		{name: "scheme change refused", link: func(r *http.Request, _ int) string {
			return "<https://" + r.Host + `/v2/r/tags/list?last=x>; rel="next"`
		}, wantErr: "another origin", maxReqs: 1},
		{name: "endless distinct links hit the page cap", link: func(_ *http.Request, p int) string {
			return fmt.Sprintf(`</v2/r/tags/list?last=p%d>; rel="next"`, p)
		}, wantErr: "no last page after 50 pages: the registry's pagination is broken", maxReqs: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var reqs atomic.Int64
			srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				p := int(reqs.Add(1)) - 1
				if l := tt.link(r, p); l != "" {
					w.Header().Set("Link", l)
				}
				fmt.Fprintf(w, `{"name":"r","tags":["a%d","b%d"]}`, p, p)
			})
			// A session with a small page cap, so the endless case ends fast.
			s := &session{host: hostOf(srv), scheme: "http", repo: "r", client: srv.Client(), pageCap: 50}
			tags, err := s.listTags(context.Background(), 0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || len(tags) != tt.wantTags {
				t.Fatalf("tags = %v, err = %v; want %d tags", tags, err, tt.wantTags)
			}
			if n := reqs.Load(); n > tt.maxReqs {
				t.Errorf("%d requests, want at most %d", n, tt.maxReqs)
			}
		})
	}
}

func TestListTagsBoundedBody(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"tags":["`)
		chunk := strings.Repeat("a", 1<<20)
		for range maxListBytes>>20 + 1 {
			fmt.Fprint(w, chunk)
		}
		fmt.Fprint(w, `"]}`)
	})
	_, err := newTestClient(t).ListTags(context.Background(), mustRef(t, hostOf(srv)+"/r"), 0)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

// Pages each well under the cap, but without end and of long tags, fail
// once they add up to maxListBytes: a cap per page alone let a registry
// fill gigabytes of memory with 1000 pages.
func TestListingBytesBoundedAcrossPages(t *testing.T) {
	t.Parallel()
	const pageBytes = 8 << 20
	var reqs atomic.Int32
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := reqs.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s?last=p%d>; rel="next"`, r.URL.Path, n))
		fmt.Fprintf(w, `{"tags":["%d%s"]}`, n, strings.Repeat("a", pageBytes))
	})
	_, err := newTestClient(t).ListTags(context.Background(), mustRef(t, hostOf(srv)+"/r"), 0)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes at page", maxListBytes)) {
		t.Fatalf("err = %v, want the listing's size error", err)
	}
	if n, most := reqs.Load(), int32(maxListBytes/pageBytes+1); n > most {
		t.Errorf("%d pages read, want at most %d", n, most)
	}
}

// An endless error body and an oversized catalog page end the command
// with an error instead of being read without bound.
func TestErrorAndCatalogBodiesBounded(t *testing.T) {
	t.Parallel()
	endless := func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("a", 1<<20))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	errSrv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"`)
		endless(w, r)
	})
	catSrv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"repositories":["`)
		endless(w, r)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newTestClient(t)
	if _, err := c.ListTags(ctx, mustRef(t, hostOf(errSrv)+"/r"), 0); err == nil || ctx.Err() != nil {
		t.Errorf("endless error body: %v (context %v)", err, ctx.Err())
	}
	if _, err := c.Catalog(ctx, hostOf(catSrv), 0); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("endless catalog page: %v, want a size error", err)
	}
}

// An error answer with a body longer than is read (a proxy's big HTML
// page, an endless one) keeps its status: 404 is not found, 401 refused,
// not "body exceeds 65536 byte limit".
func TestLongErrorBodyKeepsStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]error{http.StatusNotFound: ErrNotFound, http.StatusUnauthorized: ErrUnauthorized} {
		srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprint(w, "<html>"+strings.Repeat("x", 1<<20))
		})
		c := newTestClient(t)
		if _, err := c.ListTags(context.Background(), mustRef(t, hostOf(srv)+"/r"), 0); !errors.Is(err, want) {
			t.Errorf("tags list answered %d: %v, want %v", status, err, want)
		}
		if _, err := c.GetManifest(context.Background(), mustRef(t, hostOf(srv)+"/r:v1"), nil); !errors.Is(err, want) {
			t.Errorf("manifest get answered %d: %v, want %v", status, err, want)
		}
	}
}

func TestListTagsErrors(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/missing/"):
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
		default:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"no"}]}`)
		}
	})
	c := newTestClient(t)
	_, err := c.ListTags(context.Background(), mustRef(t, hostOf(srv)+"/missing"), 0)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing repository: %v, want ErrNotFound", err)
	}
	_, err = c.ListTags(context.Background(), mustRef(t, hostOf(srv)+"/secret"), 0)
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Host != hostOf(srv) {
		t.Errorf("denied: %v, want *AuthError for %s", err, hostOf(srv))
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	var queries []string
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("n") == "1000" {
			// A registry with a smaller cap refuses large pages.
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":[{"code":"PAGINATION_NUMBER_INVALID"}]}`)
			return
		}
		if r.URL.Query().Get("last") == "" {
			w.Header().Set("Link", `</v2/_catalog?last=b&n=2>; rel="next"`)
			fmt.Fprint(w, `{"repositories":["a","b"]}`)
			return
		}
		fmt.Fprint(w, `{"repositories":["c"]}`)
	})
	repos, err := newTestClient(t).Catalog(context.Background(), hostOf(srv), 0)
	if err != nil || strings.Join(repos, ",") != "a,b,c" {
		t.Fatalf("repos = %v, err = %v", repos, err)
	}
	// The first request goes out twice: unauthenticated at once, then again
	// after the ping, since a 400 is not taken from the unauthenticated one.
	if strings.Join(queries, " ") != "n=1000 n=1000  last=b&n=2" {
		t.Errorf("queries = %q", queries)
	}

	none := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	_, err = newTestClient(t).Catalog(context.Background(), hostOf(none), 0)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not offer the catalog API") {
		t.Errorf("no catalog API: %v", err)
	}
	if _, err := newTestClient(t).Catalog(context.Background(), "bad host/x", 0); !errors.Is(err, reference.ErrInvalid) {
		t.Errorf("bad host: %v, want reference.ErrInvalid", err)
	}
}
