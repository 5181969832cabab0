package cmd

import (
	"context"
	"strings"
	"testing"
)

func TestNewCmdDigest(t *testing.T) {
	t.Parallel()
	parseTable(t, newDigestCmd, func(o *remoteRefOptions) remoteRefOptions {
		return remoteRefOptions{Ref: o.Ref, Platform: o.Platform, Format: o.Format}
	}, []parseCase[remoteRefOptions]{
		{[]string{"nginx"}, &remoteRefOptions{Ref: "nginx", Format: "text"}},
		{[]string{"--platform", "linux/arm64/v8", "nginx"}, &remoteRefOptions{Ref: "nginx", Platform: "linux/arm64/v8", Format: "text"}},
		{[]string{}, nil},
	})
}

func TestDigestRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := registryFixture(t)

	dg := &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1"}
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	digest, _ := output()
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != 72 {
		t.Errorf("digest: %q", digest)
	}
	dg.Format = "json"
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != `{"reference":"`+host+`/app:v1","digest":"`+strings.TrimSpace(digest)+`","source":"upstream"}`+"\n" {
		t.Errorf("digest json: %q", out)
	}
	dg.Format = "{{.Reference}}@{{.Digest}}"
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != host+"/app:v1@"+digest {
		t.Errorf("digest template: %q", out)
	}

	// Exit codes: not found, bad input.
	err := runDigest(ctx, &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:gone"})
	if code, _ := exitCode(err); code != exitNotFound {
		t.Errorf("missing tag: exit %d (%v)", code, err)
	}
	err = runDigest(ctx, &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app", Platform: "linux"})
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("bad platform: exit %d (%v)", code, err)
	}
}
