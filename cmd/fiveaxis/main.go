// Command fiveaxis is a self-hosted pull-request reviewer for Gitea. It
// reviews every pull request on five axes (correctness, readability,
// architecture, security, performance), tells authors when their branch has
// drifted too far behind its target, and runs the same pipeline locally as
// `fiveaxis review`.
//
// This package is the only place that reads configuration and wires the
// parts together.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

// Exit statuses.
const (
	exitOK       = 0 // approve or comment
	exitBlocking = 1 // request_changes or needs_rebase
	exitError    = 2 // the review could not be made
)

// exitError carries an exit status through cobra.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func versionString() string {
	c := commit
	if c == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("fiveaxis %s (commit %s, %s)", version, c, runtime.Version())
}

// app holds what subcommands share.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	configPath     string
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "fiveaxis",
		Short: "Five-Axis pull-request reviewer for Gitea",
		Long: `fiveaxis reviews pull requests on five axes (correctness, readability,
architecture, security, performance) and tells authors when their branch has
drifted so far behind its target that they must rebase first.

Run "fiveaxis review" in a git repository for a dry run on a local branch.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "config file (YAML); default $FIVEAXIS_CONFIG")
	root.AddCommand(newReviewCmd(a), newRulesCmd(a), newVersionCmd(a))
	root.AddCommand(newConfigCmd(a), newInitCmd(a), newHealthcheckCmd(a), newServeCmd(a))
	root.AddCommand(newQueueCmds(a)...)
	return root
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(a.stdout, versionString())
			return err
		},
	}
}

// run executes the CLI and returns the process exit status.
func run(args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	var ec exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	default:
		fmt.Fprintf(stderr, "fiveaxis: %v\n", err)
		return exitError
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
