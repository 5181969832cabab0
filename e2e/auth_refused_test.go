package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestEveryCommandAuthRefused: every command that talks to a registry ends
// a 401/403 with exit 4, the hint "run: ctl login HOST" and nothing on
// stdout, anonymous or with wrong stored credentials, for basic (htpasswd)
// and bearer-token registries alike.
func TestEveryCommandAuthRefused(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]testenv.RegistryOptions{
		"htpasswd": {HTPasswd: true, DeleteEnabled: true},
		"token":    {Token: true, DeleteEnabled: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, opts)
			reg.PushRandomImage(t, "team/app:v1", 1, 64)
			user, _ := reg.User()
			for _, who := range []string{"anonymous", "wrong password"} {
				e := testenv.NewEnv(t)
				if who != "anonymous" {
					e.AddDockerAuth(t, reg.Host, user, "wrong")
				}
				// A local image to push.
				archive := filepath.Join(t.TempDir(), "app.tar")
				testenv.ImagesTar(t, archive, map[string]v1.Image{"local/app:v1": randomImage(t, 64, 1)}, false)
				if r := e.Run(t, "load", "-i", archive); r.Code != 0 {
					t.Fatalf("load: exit %d %s", r.Code, r.Stderr)
				}
				if r := e.Run(t, "tag", "local/app:v1", reg.Ref("team/app:v2")); r.Code != 0 {
					t.Fatalf("tag: exit %d %s", r.Code, r.Stderr)
				}
				for _, args := range [][]string{
					{"tags", "list", reg.Ref("team/app")},
					{"catalog", reg.Host},
					{"digest", reg.Ref("team/app:v1")},
					{"manifest", "get", reg.Ref("team/app:v1")},
					{"inspect", reg.Ref("team/app:v1")},
					{"delete", reg.Ref("team/app:v1")},
					{"pull", reg.Ref("team/app:v1")},
					{"push", reg.Ref("team/app:v2")},
					{"copy", reg.Ref("team/app:v1"), reg.Ref("team/other:v1")},
				} {
					if reg.CACertFile != "" {
						args = append([]string{"--ca-file", reg.CACertFile}, args...)
					}
					r := e.Run(t, args...)
					if r.Code != 4 || r.Stdout != "" || !strings.HasSuffix(r.Stderr, "run: ctl login "+reg.Host+"\n") {
						t.Errorf("%s, %s: %v: exit %d, stdout %q, stderr %q; want 4 and the login hint", name, who, args, r.Code, r.Stdout, r.Stderr)
					}
				}
			}
			if !exists(t, reg, "team/app:v1") {
				t.Error("a refused delete deleted")
			}
		})
	}
}
