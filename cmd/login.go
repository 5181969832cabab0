package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type loginOptions struct {
	IO            *IOStreams
	Server        string
	Username      string
	Password      string
	PasswordStdin bool
	ConfigDir     string
	Verify        func() (auth.Verifier, error)
	// readPassword reads a password without echo from the terminal.
	readPassword func() (string, error)
}

func newLoginCmd(f *Factory, runF func(*loginOptions) error) *cobra.Command {
	opts := &loginOptions{IO: f.IO}
	c := &cobra.Command{
		Use:   "login [SERVER]",
		Short: "Log in to a registry and store the credentials as docker does",
		Long: `Log in to a registry: the credentials are checked against the registry
first (basic auth, or the token exchange its challenge asks for) and stored
only if it accepts them, where docker would store them: the credential
helper named by credHelpers or credsStore in the docker config, else
config.json (mode 0600). SERVER defaults to Docker Hub.

With neither --username nor a password, credentials already stored for
SERVER are checked against the registry again ("Authenticating with existing
credentials...") and kept if it accepts them, as docker login does; only if
it refuses them is anything asked. On a terminal, a missing user name or
password is prompted for (the password without echo). --password-stdin
reads the password from standard input.`,
		Example: `  ctl login -u alice registry.example.com
  echo "$TOKEN" | ctl login -u alice --password-stdin ghcr.io`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			if opts.Password != "" && opts.PasswordStdin {
				return usageError{errors.New("--password and --password-stdin are mutually exclusive")}
			}
			if opts.PasswordStdin && opts.Username == "" {
				return usageError{errors.New("--password-stdin requires --username")}
			}
			opts.ConfigDir = f.Opts.Config
			opts.Verify = func() (auth.Verifier, error) {
				c, err := f.Registry()
				if err != nil {
					return nil, err
				}
				return c.CheckCredentials, nil
			}
			if runF != nil {
				return runF(opts)
			}
			return runLogin(cmd.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Username, "username", "u", "", "user name")
	c.Flags().StringVarP(&opts.Password, "password", "p", "", "password or token (insecure: prefer --password-stdin)")
	c.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password or token from standard input")
	return c
}

func runLogin(ctx context.Context, opts *loginOptions) error {
	if opts.Password != "" {
		fmt.Fprintln(opts.IO.ErrOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	verify, err := opts.Verify()
	if err != nil {
		return err
	}
	login := func() (string, error) {
		return auth.Login(ctx, auth.LoginOptions{
			Dir: opts.ConfigDir, Server: opts.Server,
			Username: opts.Username, Password: opts.Password, Verify: verify,
		})
	}
	var plainFile string
	reused := false
	// As docker login: with neither -u nor a password, credentials already
	// stored are checked against the registry again; only if it refuses
	// them is the user asked (their user name kept as the default).
	if opts.Username == "" && opts.Password == "" && !opts.PasswordStdin {
		user, pass, err := auth.Stored(opts.ConfigDir, opts.Server)
		if err != nil {
			return err
		}
		if user != "" {
			fmt.Fprintf(opts.IO.ErrOut, "Authenticating with existing credentials... [Username: %s]\n", user)
			opts.Username, opts.Password = user, pass
			plainFile, err = login()
			switch {
			case err == nil:
				reused = true
			case errors.Is(err, auth.ErrBadCredentials):
				fmt.Fprintln(opts.IO.ErrOut, "Stored credentials invalid or expired")
				opts.Password = ""
			default:
				return err
			}
		}
	}
	if !reused {
		if err := loginCredentials(opts); err != nil {
			return err
		}
		if plainFile, err = login(); err != nil {
			return err
		}
	}
	if plainFile != "" {
		// docker's warning, without its blank lines.
		fmt.Fprintf(opts.IO.ErrOut, "WARNING! Your credentials are stored unencrypted in '%s'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n", plainFile)
	}
	fmt.Fprintln(opts.IO.Out, "Login Succeeded")
	return nil
}

// loginCredentials fills in the user name and password from stdin or, on
// a terminal, by prompting; without a terminal, missing ones are a usage
// error.
func loginCredentials(opts *loginOptions) error {
	if opts.PasswordStdin {
		b, err := io.ReadAll(io.LimitReader(opts.IO.In, 1<<20))
		if err != nil {
			return invalidInput(fmt.Errorf("reading the password from stdin: %w", err))
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
		if opts.Password == "" {
			return invalidInput(errors.New("no password on stdin"))
		}
		return nil
	}
	if opts.Username != "" && opts.Password != "" {
		return nil
	}
	if !opts.IO.StdinTTY {
		return usageError{errors.New("user name and password are required: give -u USER and --password-stdin (stdin is not a terminal, so ctl cannot prompt)")}
	}
	in := bufio.NewReader(opts.IO.In)
	if opts.Username == "" {
		fmt.Fprint(opts.IO.ErrOut, "Username: ")
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return invalidInput(fmt.Errorf("reading the user name: %w", err))
		}
		opts.Username = strings.TrimSpace(line)
		if opts.Username == "" {
			return usageError{errors.New("a user name is required")}
		}
	}
	if opts.Password == "" {
		fmt.Fprint(opts.IO.ErrOut, "Password: ")
		read := opts.readPassword
		if read == nil {
			read = func() (string, error) { return terminalPassword(opts.IO.In) }
		}
		pw, err := read()
		fmt.Fprintln(opts.IO.ErrOut)
		if err != nil {
			return invalidInput(fmt.Errorf("reading the password: %w", err))
		}
		if pw == "" {
			return usageError{errors.New("a password is required")}
		}
		opts.Password = pw
	}
	return nil
}

// terminalPassword reads a line from the terminal in without echo.
func terminalPassword(in io.Reader) (string, error) {
	f, ok := in.(*os.File)
	if !ok {
		return "", errors.New("stdin is not a terminal")
	}
	b, err := term.ReadPassword(int(f.Fd()))
	return string(b), err
}
