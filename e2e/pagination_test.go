package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestBrokenPagination: tags list and catalog against a registry whose
// Links never end, loop, or leave its origin fail (exit 1) saying so,
// print nothing, and stay bounded in time and memory.
func TestBrokenPagination(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	links := map[string]func(path string, page int) string{
		"a new page forever": func(path string, page int) string { return fmt.Sprintf("%s?last=p%d&n=2", path, page+1) },
		"a page linking to itself": func(path string, page int) string {
			if page == 0 {
				return path + "?last=p0&n=2"
			}
			return path + "?last=p" + strconv.Itoa(page-1) + "&n=2"
		},
		"a loop back to the first page": func(path string, page int) string { return fmt.Sprintf("%s?last=p%d&n=2", path, (page+1)%3) },
		"a Link to another origin":      func(path string, _ int) string { return other.URL + path + "?last=x" },
	}
	wants := map[string]string{
		"a new page forever":            "no last page after 1000 pages: the registry's pagination is broken",
		"a page linking to itself":      "links back to",
		"a loop back to the first page": "links back to",
		"a Link to another origin":      "refusing pagination Link to another origin",
	}
	for name, link := range links {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			page := 0
			if last := r.URL.Query().Get("last"); strings.HasPrefix(last, "p") {
				page, _ = strconv.Atoi(last[1:])
				page++
			}
			switch r.URL.Path {
			case "/v2/":
				w.WriteHeader(http.StatusOK)
			case "/v2/app/tags/list":
				w.Header().Set("Link", "<"+link(r.URL.Path, page)+`>; rel="next"`)
				fmt.Fprintf(w, `{"name":"app","tags":["t%d-a","t%d-b"]}`, page, page)
			case "/v2/_catalog":
				w.Header().Set("Link", "<"+link(r.URL.Path, page)+`>; rel="next"`)
				fmt.Fprintf(w, `{"repositories":["r%d/a","r%d/b"]}`, page, page)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(srv.Close)
		host := strings.TrimPrefix(srv.URL, "http://")
		for _, args := range [][]string{{"tags", "list", host + "/app"}, {"catalog", host}} {
			t.Run(name+"/"+args[0], func(t *testing.T) {
				t.Parallel()
				e := testenv.NewEnv(t)
				res := runBounded(t, e, "", args...)
				if res.Code != 1 || res.Stdout != "" || !strings.Contains(res.Stderr, wants[name]) {
					t.Fatalf("exit %d, stdout %q, stderr %q: want exit 1, nothing printed, %q", res.Code, res.Stdout, res.Stderr, wants[name])
				}
			})
		}
	}
}
