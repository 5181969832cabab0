package cmd

// The inputs of the commands that read Dockerfiles (check dockerfile, pin).

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// readDockerfile reads a file named on the command line; "-" is standard
// input.
func readDockerfile(streams *IOStreams, file string) ([]byte, error) {
	if file == "-" {
		b, err := io.ReadAll(streams.In)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err // *PathError names the file
	}
	return b, nil
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
