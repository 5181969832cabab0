package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// backendBody is what the test backend answers for GET /data.
var backendBody = func() []byte {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

func newBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("Content-Length", fmt.Sprint(len(backendBody)))
		_, _ = w.Write(backendBody)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestProxyForwardsAndCounts(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") || p.Host != strings.TrimPrefix(p.URL, "http://") {
		t.Fatalf("URL %q Host %q", p.URL, p.Host)
	}
	// One connection at most: Go's client may dial a spare connection when
	// a request starts while the previous response's connection is still
	// on its way back to the idle pool, which the count would see.
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i := 0; i < 3; i++ {
		resp, body, err := get(t, c, p.URL+"/data")
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, backendBody) {
			t.Fatalf("GET: %v %v", resp, err)
		}
		if resp.Header.Get("X-Seen-Host") != p.Host || resp.Header.Get("X-Seen-Proto") != "http" {
			t.Fatalf("backend saw Host %q proto %q", resp.Header.Get("X-Seen-Host"), resp.Header.Get("X-Seen-Proto"))
		}
	}
	req, _ := http.NewRequest(http.MethodHead, p.URL+"/other", nil)
	req.Header.Set("Authorization", "Bearer x")
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if n := p.Count("GET", "^/data$"); n != 3 {
		t.Fatalf("Count GET /data = %d", n)
	}
	if n := p.Count("", ""); n != 4 {
		t.Fatalf("Count all = %d", n)
	}
	recs := p.Requests()
	if recs[0].Status != 200 || recs[0].Authorization || !recs[3].Authorization || recs[3].Method != "HEAD" || recs[0].Time.IsZero() {
		t.Fatalf("records %+v", recs)
	}
	if n := p.Connections(); n != 1 {
		t.Fatalf("Connections = %d, want 1 (keep-alive)", n)
	}
	c.CloseIdleConnections()
	p.Reset()
	if len(p.Requests()) != 0 || p.Connections() != 0 {
		t.Fatal("Reset did not clear")
	}
	if _, _, err := get(t, noKeepAlive(), p.URL+"/data"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(t, noKeepAlive(), p.URL+"/data"); err != nil {
		t.Fatal(err)
	}
	if p.Connections() != 2 || p.Count("GET", "") != 2 {
		t.Fatalf("after Reset: %d connections, %d requests", p.Connections(), p.Count("GET", ""))
	}
}

func TestProxyFaultStatus(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Method: "GET", PathRegexp: "^/data$", Kind: FaultStatus, Status: 503, RetryAfter: "2", Body: `{"errors":[]}`, Times: 2})
	p.AddFault(Fault{Method: "GET", PathRegexp: "^/forever", Kind: FaultStatus, Status: 429})
	c := &http.Client{}
	for i := 0; i < 2; i++ {
		resp, body, err := get(t, c, p.URL+"/data")
		if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || string(body) != `{"errors":[]}` {
			t.Fatalf("attempt %d: %v %v %q", i, resp, err, body)
		}
	}
	if resp, _, err := get(t, c, p.URL+"/data"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("third attempt: %v %v", resp, err)
	}
	for i := 0; i < 3; i++ {
		if resp, _, err := get(t, c, p.URL+"/forever"); err != nil || resp.StatusCode != 429 {
			t.Fatalf("forever fault %d: %v %v", i, resp, err)
		}
	}
	// Method mismatch: not faulted.
	if resp, err := c.Head(p.URL + "/forever"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	recs := p.Requests()
	if recs[0].Fault != FaultStatus || recs[0].Status != 503 || recs[2].Fault != 0 || recs[2].Status != 200 {
		t.Fatalf("records %+v", recs)
	}
	p.ClearFaults()
	if resp, _, err := get(t, c, p.URL+"/forever"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after ClearFaults: %v %v", resp, err)
	}
}

func TestProxyFaultDropMidBody(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Kind: FaultDropMidBody, Bytes: 100, Times: 1})
	resp, body, err := get(t, noKeepAlive(), p.URL+"/data")
	if err == nil || resp.StatusCode != 200 || len(body) != 100 || !bytes.Equal(body, backendBody[:100]) {
		t.Fatalf("dropped GET: status %v, %d bytes, err %v", resp, len(body), err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("error is %v", err)
	}
	if _, body, err := get(t, noKeepAlive(), p.URL+"/data"); err != nil || !bytes.Equal(body, backendBody) {
		t.Fatalf("second GET: %v", err)
	}
}

func TestProxyFaultDropBeforeResponse(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Kind: FaultDropBeforeResponse, Times: 1})
	if _, _, err := get(t, noKeepAlive(), p.URL+"/data"); err == nil {
		t.Fatal("no error")
	}
	if recs := p.Requests(); len(recs) != 1 || recs[0].Status != 0 || recs[0].Fault != FaultDropBeforeResponse {
		t.Fatalf("records %+v", recs)
	}
	if _, body, err := get(t, noKeepAlive(), p.URL+"/data"); err != nil || !bytes.Equal(body, backendBody) {
		t.Fatalf("second GET: %v", err)
	}
}

func TestProxyFaultCorruptBody(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Kind: FaultCorruptBody, Bytes: 5, Times: 1})
	p.AddFault(Fault{Kind: FaultCorruptBody, Bytes: 1 << 20, Times: 1})
	_, body, err := get(t, noKeepAlive(), p.URL+"/data")
	if err != nil || len(body) != len(backendBody) {
		t.Fatalf("GET: %v, %d bytes", err, len(body))
	}
	for i := range body {
		if (body[i] != backendBody[i]) != (i == 5) {
			t.Fatalf("byte %d: got %q want %q", i, body[i], backendBody[i])
		}
	}
	// An offset past the end is clamped to the last byte.
	_, body, err = get(t, noKeepAlive(), p.URL+"/data")
	if err != nil || len(body) != len(backendBody) || body[len(body)-1] == backendBody[len(body)-1] ||
		!bytes.Equal(body[:len(body)-1], backendBody[:len(body)-1]) {
		t.Fatalf("clamped corruption: %v", err)
	}
}

func TestProxyFaultHang(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Kind: FaultHang, PathRegexp: "/data", Times: 1})
	c := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	if _, _, err := get(t, c, p.URL+"/data"); err == nil {
		t.Fatal("hanging request answered")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("gave up after %v", d)
	}
	if _, body, err := get(t, &http.Client{}, p.URL+"/data"); err != nil || !bytes.Equal(body, backendBody) {
		t.Fatalf("after hang: %v", err)
	}
	// A hang pending at the end of the test is released by cleanup.
	p.AddFault(Fault{Kind: FaultHang, PathRegexp: "/pending"})
	go func() { _, _ = http.Get(p.URL + "/pending") }()
	WaitFor(t, 30*time.Second, "the /pending request at the proxy", func() bool { return p.Count("", "/pending") > 0 })
}

func TestProxyFaultRedirectAndSnoop(t *testing.T) {
	t.Parallel()
	snoop := NewSnoopServer(t)
	snoop.Serve("/v2/x/blobs/sha256:abc", []byte("blob"))
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(Fault{Method: "GET", PathRegexp: "/blobs/", Kind: FaultRedirect, Location: snoop.URL + "{path}?sig={query}"})

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _, err := get(t, noFollow, p.URL+"/v2/x/blobs/sha256:abc?q=1")
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect ||
		resp.Header.Get("Location") != snoop.URL+"/v2/x/blobs/sha256:abc?sig=q=1" {
		t.Fatalf("redirect: %v %v", resp, err)
	}
	if snoop.SawAuthorization() || len(snoop.Requests()) != 0 {
		t.Fatal("snoop saw requests before any")
	}
	// Following the redirect reaches the snoop, which serves the body.
	resp, body, err := get(t, &http.Client{}, p.URL+"/v2/x/blobs/sha256:abc")
	if err != nil || resp.StatusCode != 200 || string(body) != "blob" {
		t.Fatalf("followed redirect: %v %v %q", resp, err, body)
	}
	if snoop.SawAuthorization() {
		t.Fatal("snoop saw Authorization on a request without it")
	}
	req, _ := http.NewRequest(http.MethodGet, snoop.URL+"/missing", nil)
	req.Header.Set("Authorization", "Basic eDp5")
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != 404 {
		t.Fatalf("snoop 404: %v %v", r2, err)
	} else {
		r2.Body.Close()
	}
	if !snoop.SawAuthorization() || len(snoop.Requests()) != 2 {
		t.Fatalf("snoop records %+v", snoop.Requests())
	}
}

func TestProxyDelayAndConcurrency(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.SetDelay(300 * time.Millisecond)
	const n = 32
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	tr := &http.Transport{MaxConnsPerHost: n}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := (&http.Client{Transport: tr}).Get(p.URL + "/data")
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(b, backendBody) {
				errs <- fmt.Errorf("body: %v", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d := time.Since(start)
	if d < 300*time.Millisecond || d > 10*time.Second {
		t.Fatalf("%d delayed requests took %v", n, d)
	}
	if p.Count("GET", "/data") != n {
		t.Fatalf("count %d", p.Count("GET", "/data"))
	}
}

// TestProxyStreams proves that neither request nor response bodies are
// buffered whole: each side sees the first MiB while the other side still
// holds back the rest.
func TestProxyStreams(t *testing.T) {
	t.Parallel()
	const size = 48 << 20
	gotFirstMiB := make(chan struct{})
	releaseResp := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			if _, err := io.ReadFull(r.Body, make([]byte, 1<<20)); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			close(gotFirstMiB)
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, n+1<<20)
		case http.MethodGet:
			w.Header().Set("Content-Length", fmt.Sprint(size))
			_, _ = w.Write(make([]byte, 1<<20))
			<-releaseResp
			_, _ = io.Copy(w, io.LimitReader(zeroReader{}, size-1<<20))
		}
	}))
	t.Cleanup(backend.Close)
	p := NewProxy(t, backend.URL, nil)

	// Request body: the client holds back everything after the first MiB
	// until the backend has seen it.
	body := io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), &waitReader{wait: gotFirstMiB, r: io.LimitReader(zeroReader{}, size-1<<20)})
	req, _ := http.NewRequest(http.MethodPut, p.URL+"/up", body)
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(size) {
		t.Fatalf("backend received %s bytes", b)
	}

	// Response body: the first MiB arrives before the backend sends more.
	resp, err = http.Get(p.URL + "/down")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	close(releaseResp)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n+1<<20 != size {
		t.Fatalf("rest of body: %d bytes, %v", n, err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

type waitReader struct {
	wait <-chan struct{}
	r    io.Reader
}

func (w *waitReader) Read(b []byte) (int, error) {
	select {
	case <-w.wait:
	case <-time.After(20 * time.Second):
		return 0, errors.New("backend never saw the first MiB: request body buffered")
	}
	return w.r.Read(b)
}

// TestProxyRegistryBigBlob pushes and pulls a 48 MiB blob through the proxy
// in front of a TLS registry: upload Locations point back at the proxy.
func TestProxyRegistryBigBlob(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{TLS: true})
	p := NewProxy(t, r.URL, r.CAPEM)
	blob := make([]byte, 48<<20)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(blob)
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Post(p.URL+"/v2/big/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, p.URL+"/v2/big/blobs/uploads/") {
		t.Fatalf("POST upload = %d, Location %q (proxy %s)", resp.StatusCode, loc, p.URL)
	}
	req, _ := http.NewRequest(http.MethodPut, loc+"&digest="+digest, bytes.NewReader(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d", resp.StatusCode)
	}
	resp, err = c.Get(p.URL + "/v2/big/blobs/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != int64(len(blob)) || hex.EncodeToString(h.Sum(nil)) != digest[len("sha256:"):] {
		t.Fatalf("GET blob: %d bytes, %v", n, err)
	}
	if p.Count("PUT", "/blobs/uploads/") != 1 || p.Count("GET", "/blobs/sha256:") != 1 {
		t.Fatalf("requests %+v", p.Requests())
	}
}

// TestTagDeleteRefused: DELETE of a manifest by tag answers 405
// UNSUPPORTED; by digest, and every other request, goes through.
func TestTagDeleteRefused(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, newBackend(t).URL, nil)
	p.AddFault(TagDeleteRefused())
	c := &http.Client{}
	do := func(method, path string) (int, string) {
		req, err := http.NewRequest(method, p.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := do("DELETE", "/v2/a/b/manifests/v1.0"); st != http.StatusMethodNotAllowed || !strings.Contains(body, "UNSUPPORTED") {
		t.Errorf("DELETE by tag: %d %s", st, body)
	}
	for _, req := range [][2]string{{"DELETE", "/v2/a/b/manifests/sha256:" + strings.Repeat("0", 64)}, {"HEAD", "/v2/a/b/manifests/v1.0"}, {"DELETE", "/v2/a/b/blobs/x"}} {
		if st, _ := do(req[0], req[1]); st != http.StatusOK {
			t.Errorf("%s %s: %d, want it forwarded", req[0], req[1], st)
		}
	}
}
