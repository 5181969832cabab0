package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/auth"
)

func TestLoginFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string // command line after "login"
		server string   // parsed SERVER
		user   string   // parsed -u
		stdin  bool     // --password-stdin
		err    string   // usage error, if any
	}{
		{[]string{}, "", "", false, ""},
		{[]string{"-u", "alice", "reg.example:5000"}, "reg.example:5000", "alice", false, ""},
		{[]string{"-u", "alice", "--password-stdin", "reg.example"}, "reg.example", "alice", true, ""},
		{[]string{"--password-stdin"}, "", "", true, "--password-stdin requires --username"},
		{[]string{"-u", "a", "-p", "x", "--password-stdin"}, "", "", false, "mutually exclusive"},
		{[]string{"a", "b"}, "", "", false, "accepts at most 1 arg"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			io, _, _ := TestIO("")
			f := &Factory{IO: io, Opts: &GlobalOptions{}}
			var got *loginOptions
			c := newLoginCmd(f, func(o *loginOptions) error { got = o; return nil })
			c.SetArgs(tc.args)
			c.SetOut(io.Out)
			c.SetErr(io.ErrOut)
			err := c.Execute()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Server != tc.server || got.Username != tc.user || got.PasswordStdin != tc.stdin {
				t.Errorf("got %+v", got)
			}
		})
	}
}

// fakeVerify accepts alice/s3cret only.
func fakeVerify() (auth.Verifier, error) {
	return func(_ context.Context, host, user, pass string) (string, error) {
		if user == "alice" && pass == "s3cret" {
			return "", nil
		}
		return "", fmt.Errorf("%w: %s refused", auth.ErrBadCredentials, host)
	}, nil
}

func TestRunLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No terminal and no password: a usage error, nothing asked.
	io, _, _ := TestIO("")
	o := &loginOptions{IO: io, Server: "reg.example", Username: "alice", ConfigDir: dir, Verify: fakeVerify}
	err := runLogin(context.Background(), o)
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("no terminal: err = %v (exit %d), want exit 2", err, code)
	}

	// A terminal: prompts for both, the password through readPassword.
	io, out, errOut := TestIO("alice\n")
	io.StdinTTY = true
	o = &loginOptions{IO: io, Server: "reg.example", ConfigDir: dir, Verify: fakeVerify,
		readPassword: func() (string, error) { return "s3cret", nil }}
	if err := runLogin(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Login Succeeded\n" || !strings.Contains(errOut.String(), "Username: ") || !strings.Contains(errOut.String(), "Password: ") {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json: %v, %v", fi, err)
	}

	// Stored credentials are checked again and reused, as docker login
	// does: nothing asked, no terminal needed.
	var checked []string
	verifyLog := func() (auth.Verifier, error) {
		v, _ := fakeVerify()
		return func(ctx context.Context, host, user, pass string) (string, error) {
			checked = append(checked, user+":"+pass)
			return v(ctx, host, user, pass)
		}, nil
	}
	io, out, errOut = TestIO("")
	o = &loginOptions{IO: io, Server: "reg.example", ConfigDir: dir, Verify: verifyLog}
	if err := runLogin(context.Background(), o); err != nil || out.String() != "Login Succeeded\n" ||
		!strings.HasPrefix(errOut.String(), "Authenticating with existing credentials... [Username: alice]\n") || strings.Contains(errOut.String(), "Password") || len(checked) != 1 || checked[0] != "alice:s3cret" {
		t.Errorf("login with stored credentials: %v, stdout %q, stderr %q, checked %q", err, out.String(), errOut.String(), checked)
	}
	// Refused: said so, then prompted for a password (the user name kept).
	cfg := filepath.Join(dir, "config.json")
	b, _ := os.ReadFile(cfg)
	stale := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(stale, []byte(strings.ReplaceAll(string(b), "YWxpY2U6czNjcmV0", "YWxpY2U6b2xk")), 0o600) // alice:old
	io, out, errOut = TestIO("")
	io.StdinTTY = true
	o = &loginOptions{IO: io, Server: "reg.example", ConfigDir: filepath.Dir(stale), Verify: fakeVerify,
		readPassword: func() (string, error) { return "s3cret", nil }}
	if err := runLogin(context.Background(), o); err != nil || out.String() != "Login Succeeded\n" ||
		!strings.HasPrefix(errOut.String(), "Authenticating with existing credentials... [Username: alice]\nStored credentials invalid or expired\nPassword: ") {
		t.Errorf("login with stale credentials: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}

	// -p warns; a refused password is exit 4 and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	io, out, errOut = TestIO("")
	o = &loginOptions{IO: io, Server: "other.example", Username: "alice", Password: "wrong", ConfigDir: dir, Verify: fakeVerify}
	err = runLogin(context.Background(), o)
	if code, _ := exitCode(err); code != exitAuth || out.Len() != 0 {
		t.Errorf("wrong password: err = %v (exit %d), stdout %q", err, code, out.String())
	}
	if !strings.Contains(errOut.String(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.") {
		t.Errorf("no -p warning: %q", errOut.String())
	}
	after, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if string(before) != string(after) {
		t.Errorf("config.json changed by a refused login")
	}

	// --password-stdin strips the newline.
	io, out, _ = TestIO("s3cret\n")
	o = &loginOptions{IO: io, Server: "third.example", Username: "alice", PasswordStdin: true, ConfigDir: dir, Verify: fakeVerify}
	if err := runLogin(context.Background(), o); err != nil || out.String() != "Login Succeeded\n" {
		t.Errorf("--password-stdin: %v, %q", err, out.String())
	}

	// logout, twice.
	io, out, _ = TestIO("")
	if err := runLogout(&logoutOptions{IO: io, Server: "reg.example", ConfigDir: dir}); err != nil || out.String() != "Removing login credentials for reg.example\n" {
		t.Errorf("logout: %v, %q", err, out.String())
	}
	io, out, _ = TestIO("")
	if err := runLogout(&logoutOptions{IO: io, Server: "reg.example", ConfigDir: dir}); err != nil || out.String() != "Not logged in to reg.example\n" {
		t.Errorf("second logout: %v, %q", err, out.String())
	}
}
