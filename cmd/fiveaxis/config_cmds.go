package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration or print an example",
		Long: `The configuration is one YAML file (--config or FIVEAXIS_CONFIG) with
${NAME} expansion, overridden by FIVEAXIS_* environment variables. Secrets
come only from the environment or from files named by *_FILE variables.`,
	}
	cmd.AddCommand(newConfigCheckCmd(a), newConfigExampleCmd(a))
	return cmd
}

func newConfigCheckCmd(a *app) *cobra.Command {
	var serve, worker bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it with secrets redacted",
		Long: `Read the config file and the FIVEAXIS_* environment exactly as the other
commands do, validate them, and print the effective configuration (defaults
filled in) with secrets redacted. With --serve or --worker, also check that
what that command needs to start is set (the Gitea URL, the token, the
webhook secret).

Exit status: 0 when the configuration is valid, 2 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(a.configPath, a.getenv)
			if err != nil {
				return err
			}
			if err := c.validate(); err != nil {
				return fmt.Errorf("config: %w", err)
			}
			switch {
			case serve:
				err = c.requireFor(roleServe)
			case worker:
				err = c.requireFor(roleWorker)
			}
			if err != nil {
				return err
			}
			src := a.configPath
			if src == "" {
				src, _ = a.getenv("FIVEAXIS_CONFIG")
			}
			if src == "" {
				src = "(none: defaults and environment only)"
			}
			eff := c.withDefaults()
			fmt.Fprintf(a.stdout, "# effective configuration\n# file: %s\n%s", src, eff.redacted())
			fmt.Fprintln(a.stderr, "config OK")
			return nil
		},
	}
	cmd.Flags().BoolVar(&serve, "serve", false, "also check what `fiveaxis serve` needs (Gitea URL, token, webhook secret)")
	cmd.Flags().BoolVar(&worker, "worker", false, "also check what `fiveaxis worker` and `sweep` need (Gitea URL, token)")
	cmd.MarkFlagsMutuallyExclusive("serve", "worker")
	return cmd
}

func newConfigExampleCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "example",
		Short: "Print a fully commented example configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(a.stdout, exampleConfig(false))
			return err
		},
	}
}

// exampleConfig renders the options table as a commented YAML file. Keys
// not marked Active are commented out, unless all is true (for tests, which
// check that every sample value parses).
func exampleConfig(all bool) string {
	var b strings.Builder
	b.WriteString(`# fiveaxis configuration (YAML).
#
# Use it with --config FILE or FIVEAXIS_CONFIG=FILE. Every key is optional;
# an unknown key or a bad value is an error that names its line. A value may
# use ${NAME} to insert an environment variable (unset is an error). Each key
# can also be set by the FIVEAXIS_* variable shown with it, which wins over
# the file. Check the result with: fiveaxis config check --serve
#
# Secrets are never read from this file or from flags, only from the
# environment, or from a file named by the same variable plus _FILE
# (e.g. FIVEAXIS_GITEA_TOKEN_FILE=/run/secrets/gitea-token):
`)
	for _, s := range secretOptions {
		fmt.Fprintf(&b, "#   %s (needed by %s)\n", s.Env, s.Required)
		for _, line := range wrap(s.Doc, 72) {
			fmt.Fprintf(&b, "#     %s\n", line)
		}
	}
	section := ""
	for _, o := range options {
		sec, key, nested := strings.Cut(o.Key, ".")
		if !nested {
			key, sec = sec, ""
		}
		indent := ""
		if nested {
			indent = "  "
		}
		if sec != section {
			section = sec
			hdr := sec + ":"
			if !all && !sectionActive(sec) {
				hdr = "# " + hdr
			}
			fmt.Fprintf(&b, "\n%s\n", hdr)
		} else {
			b.WriteString("\n")
		}
		for _, line := range wrap(o.Doc, 76-len(indent)) {
			fmt.Fprintf(&b, "%s# %s\n", indent, line)
		}
		meta := "env " + envName(o.Key)
		if o.Default != "" {
			meta += "; default " + o.Default
		}
		if len(o.Flags) > 0 {
			meta += "; flag " + strings.Join(o.Flags, ", ")
		}
		for _, line := range wrap(meta, 76-len(indent)) {
			fmt.Fprintf(&b, "%s# %s\n", indent, line)
		}
		val := o.Example
		if val == "" {
			val = o.Default
		}
		prefix := "# "
		if all || o.Active {
			prefix = ""
		}
		fmt.Fprintf(&b, "%s%s%s: %s\n", indent, prefix, key, val)
	}
	return b.String()
}

// sectionActive reports whether the example sets any key of a section.
func sectionActive(sec string) bool {
	for _, o := range options {
		if strings.HasPrefix(o.Key, sec+".") && o.Active {
			return true
		}
	}
	return false
}

// wrap splits text into lines of at most width characters.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// typeName describes the type of a config leaf for the docs.
func typeName(t reflect.Type) string {
	switch {
	case t.String() == "time.Duration":
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list of strings"
	}
	return t.Kind().String()
}
