package cmd

import (
	"context"
	"strings"
	"testing"
)

func TestNewCmdDelete(t *testing.T) {
	t.Parallel()
	d := "b@sha256:" + strings.Repeat("a", 64)
	parseTable(t, newDeleteCmd, func(o *deleteOptions) deleteOptions {
		return deleteOptions{Refs: o.Refs, DryRun: o.DryRun, Force: o.Force, Format: o.Format}
	}, []parseCase[deleteOptions]{
		{[]string{"a:1"}, &deleteOptions{Refs: []string{"a:1"}, Format: "text"}},
		{[]string{"--dry-run", "--force", "a:1", d}, &deleteOptions{Refs: []string{"a:1", d}, DryRun: true, Force: true, Format: "text"}},
		{[]string{}, nil},
	})
}

func TestDeleteRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := registryFixture(t)

	del := &deleteOptions{IO: f.IO, Registry: f.Registry, Refs: []string{host + "/app:v2"}, DryRun: true}
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "Would untag: "+host+"/app:v2\n" {
		t.Errorf("dry run: %q", out)
	}
	del.Format = "json"
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != `{"reference":"`+host+`/app:v2","untagged":true,"dryRun":true}`+"\n" {
		t.Errorf("dry run json: %q", out)
	}
	del.Format = ""
	del.DryRun = false
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "Untagged: "+host+"/app:v2\n" {
		t.Errorf("delete: %q", out)
	}
}

// TestDeleteDefaultTag: a bare repository means its latest, and delete says
// so as push and pull do.
func TestDeleteDefaultTag(t *testing.T) {
	t.Parallel()
	host, f, output := registryFixture(t)
	root := NewRootCmd(f)
	root.SetArgs([]string{"delete", "--dry-run", host + "/app"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, errOut := output()
	if errOut != "Using default tag: latest\n" || !strings.Contains(out, host+"/app:latest") {
		t.Errorf("delete --dry-run REPO: stdout %q stderr %q", out, errOut)
	}
}
