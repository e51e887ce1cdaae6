// Command composecheck loads a Compose file with compose-go, the library `docker compose`
// itself uses (schema validation, interpolation, merge of YAML anchors and extends,
// normalization, consistency checks), and prints the normalized model as JSON, like
// `docker compose config --format json`. It exists because this machine has a docker CLI
// but no compose plugin; tests/deploy/test_compose.py checks invariants on its output.
//
//	composecheck [-f compose.yaml] [--env-file .env]... [--project-directory DIR] [--no-os-env]
//
// A load error (bad schema, unset required variable, dangling depends_on, ...) exits 1
// with the loader's message on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var files, envFiles stringList
	flag.Var(&files, "f", "compose file (repeatable; default compose.yaml in the project directory)")
	flag.Var(&envFiles, "env-file", "env file for interpolation (repeatable; default .env when present)")
	projectDir := flag.String("project-directory", "", "project directory (default: the first file's directory)")
	noOsEnv := flag.Bool("no-os-env", false, "do not take interpolation variables from the process environment")
	flag.Parse()

	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(*projectDir)}
	if !*noOsEnv {
		opts = append(opts, cli.WithOsEnv)
	}
	opts = append(opts,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultConfigPath,
		cli.WithDefaultProfiles(),
	)
	options, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
	os.Stdout.Write([]byte("\n"))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "composecheck:", err)
	os.Exit(1)
}
