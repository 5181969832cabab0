package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDockerfileFlags(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	var got *checkDockerfileOptions
	c := newCheckDockerfileCmd(&Factory{IO: io, Opts: &GlobalOptions{}}, func(o *checkDockerfileOptions) error { got = o; return nil })
	c.SetArgs([]string{"--allow", "golden/,registry.local:5000/golden/", "--allow", "x/", "--require-pinned", "--build-arg", "A=1", "--format", "json"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Allow, " ") != "golden/ registry.local:5000/golden/ x/" || !got.RequirePinned ||
		got.Format != "json" || strings.Join(got.Files, " ") != "Dockerfile" || got.BuildArgs[0] != "A=1" {
		t.Errorf("options = %+v", got)
	}
}

// writeFiles writes name -> content under a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckDockerfileRun(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"good":   "FROM golden/golang:1.22 AS build\nFROM build\nFROM scratch\n",
		"bad":    "ARG BASE=nginx\nFROM golden/golang:1.22 AS build\nFROM ${BASE}:1.25\n",
		"broken": "FROM Nginx:1\n",
	})
	tests := []struct {
		name    string
		args    []string // after "check dockerfile"
		stdin   string
		code    int
		stdout  string
		errText string // part of stderr
	}{
		{"clean", []string{"--allow", "golden/", "good"}, "", 0, "", ""},
		{"unapproved", []string{"--allow", "golden/", "good", "bad"}, "", 1,
			"bad:3: base image nginx:1.25 is not approved (allowed: golden/)\n", "Error: 1 problem found"},
		{"build arg overrides", []string{"--allow", "golden/", "--build-arg", "BASE=golden/web", "bad"}, "", 0, "", ""},
		{"pinned", []string{"--require-pinned", "good"}, "", 1,
			"good:1: base image golden/golang:1.22 is not pinned: no digest\n", "Error: 1 problem found"},
		{"json", []string{"--allow", "golden/", "--format", "json", "bad"}, "", 1,
			`{"file":"bad","line":3,"image":"nginx:1.25","reference":"docker.io/library/nginx:1.25","problem":"unapproved","detail":"base image nginx:1.25 is not approved (allowed: golden/)"}` + "\n", ""},
		{"stdin", []string{"--allow", "golden/", "-"}, "FROM alpine\n", 1, "-:1: base image alpine is not approved (allowed: golden/)\n", ""},
		{"invalid reference still reports the other files", []string{"--allow", "golden/", "broken", "bad"}, "", 2,
			"bad:3: base image nginx:1.25 is not approved (allowed: golden/)\n", `broken:1: invalid reference "Nginx:1"`},
		{"missing file", []string{"--allow", "golden/", "nope"}, "", 2, "", "no such file"},
		{"nothing to check", []string{"good"}, "", 2, "", "nothing to check"},
		{"invalid prefix", []string{"--allow", "Golden/App", "good"}, "", 2, "", "invalid reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			io, out, errOut := TestIO(tt.stdin)
			args := []string{"check", "dockerfile"}
			for _, a := range tt.args {
				if _, err := os.Stat(filepath.Join(dir, a)); err == nil || a == "nope" || a == "broken" {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			code := Main(context.Background(), io, args)
			stdout := strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
			stdout = strings.ReplaceAll(stdout, strings.ReplaceAll(dir, `\`, `\\`)+"/", "")
			if code != tt.code || stdout != tt.stdout || !strings.Contains(errOut.String(), tt.errText) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, errOut.String(), tt.code, tt.stdout, tt.errText)
			}
		})
	}
}
