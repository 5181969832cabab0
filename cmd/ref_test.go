package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestNewCmdRef(t *testing.T) {
	t.Parallel()
	parseTable(t, newRefCmd, func(o *refOptions) refOptions {
		return refOptions{Refs: o.Refs, Format: o.Format}
	}, []parseCase[refOptions]{
		{[]string{"--format", "json", "nginx", "diamol/golang"}, &refOptions{Refs: []string{"nginx", "diamol/golang"}, Format: "json"}},
		{[]string{}, nil},
	})
}

func TestRefOutput(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "ref", "--format", "json", "nginx", "localhost:5000/gallery/ui:v1", "diamol/golang@sha256:"+strings.Repeat("ab", 32))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []map[string]string
	for dec.More() {
		var m map[string]string
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []map[string]string{
		{"registry": "docker.io", "repository": "library/nginx", "tag": "latest", "digest": "",
			"canonical": "docker.io/library/nginx:latest", "familiar": "nginx"},
		{"registry": "localhost:5000", "repository": "gallery/ui", "tag": "v1", "digest": "",
			"canonical": "localhost:5000/gallery/ui:v1", "familiar": "localhost:5000/gallery/ui:v1"},
		{"registry": "docker.io", "repository": "diamol/golang", "tag": "", "digest": "sha256:" + strings.Repeat("ab", 32),
			"canonical": "docker.io/diamol/golang@sha256:" + strings.Repeat("ab", 32), "familiar": "diamol/golang@sha256:" + strings.Repeat("ab", 32)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}

	out, _, _ = run(t, "ref", "diamol/golang")
	for _, line := range []string{"Registry:   docker.io", "Account:    diamol", "Repository: diamol/golang", "Tag:        latest", "Canonical:  docker.io/diamol/golang:latest"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("text output lacks %q:\n%s", line, out)
		}
	}
	out, _, _ = run(t, "ref", "--format", "{{.Registry}} {{.Repository}}", "registry.local:5000/gallery/ui:v1")
	if out != "registry.local:5000 gallery/ui\n" {
		t.Errorf("template output %q", out)
	}
}

func TestRefShowsMirrors(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "--registry-mirror", "m:5000", "--registry-mirror", "docker.io=c.local/hub", "ref", "nginx:1.25", "quay.io/a/b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Mirrors:    m:5000/library/nginx, c.local/hub/library/nginx (then docker.io)\n") || strings.Count(out, "Mirrors:") != 1 {
		t.Errorf("text output:\n%s", out)
	}
	out, _, _ = run(t, "--registry-mirror", "m:5000", "ref", "--format", "{{json .Mirrors}}", "nginx")
	if out != `["m:5000/library/nginx"]`+"\n" {
		t.Errorf("template output %q", out)
	}
	out, _, _ = run(t, "--no-mirror", "--registry-mirror", "m:5000", "ref", "--format", "json", "nginx")
	if strings.Contains(out, "mirrors") {
		t.Errorf("--no-mirror still lists mirrors: %s", out)
	}
}
