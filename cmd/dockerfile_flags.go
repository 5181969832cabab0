package cmd

// The inputs of the commands that read Dockerfiles (check dockerfile, pin).

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/dockerfile"
)

// readDockerfile reads a file named on the command line; "-" is standard
// input.
func readDockerfile(streams *IOStreams, file string) ([]byte, error) {
	if file == "-" {
		b, err := bounded.ReadAll(streams.In, "standard input", dockerfile.MaxSize)
		if err != nil && !errors.As(err, new(*bounded.Error)) {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, err
	}
	return bounded.ReadFile(file, dockerfile.MaxSize) // errors name the file
}

// parseBuildArgs turns --build-arg KEY=VALUE flags into a map; a bare KEY
// takes its value from the environment, as docker build does.
func parseBuildArgs(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, invalidInput(fmt.Errorf("invalid --build-arg %q: want KEY=VALUE", a))
		}
		if !ok {
			var set bool
			if v, set = os.LookupEnv(k); !set {
				continue
			}
		}
		m[k] = v
	}
	return m, nil
}
