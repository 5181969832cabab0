package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPodmanServesWhatItsCLIBuilds(t *testing.T) {
	t.Parallel()
	p := StartPodman(t)
	id := p.Build(t, "example.test/hello:v1", map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
		"hello.txt":  "hello\n",
	})
	if !strings.HasPrefix(id, "sha256:") || len(id) != len("sha256:")+64 {
		t.Fatalf("image ID %q", id)
	}
	// The API, reached through the TCP forwarder, lists the image the CLI
	// built in the same storage.
	resp, err := http.Get("http://" + p.TCP(t) + "/v1.41/images/json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"`+id+`"`) || !strings.Contains(string(body), "example.test/hello:v1") {
		t.Fatalf("GET /images/json: %s %s", resp.Status, body)
	}
}
