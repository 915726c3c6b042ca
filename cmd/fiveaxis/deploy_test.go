package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// checkFlag checks that "cmd sub --flag" names a real command of root and a
// flag it accepts (its own or inherited).
func checkFlag(root *cobra.Command, spec string) error {
	fields := strings.Fields(spec)
	var path []string
	var flag string
	for _, f := range fields {
		if strings.HasPrefix(f, "--") {
			flag = strings.TrimPrefix(f, "--")
			flag, _, _ = strings.Cut(flag, "=")
			break
		}
		path = append(path, f)
	}
	cmd, rest, err := root.Find(path)
	if err != nil || len(rest) > 0 || cmd == root && len(path) > 0 {
		return fmt.Errorf("%q: no command %q", spec, strings.Join(path, " "))
	}
	if flag != "" && cmd.Flags().Lookup(flag) == nil && cmd.InheritedFlags().Lookup(flag) == nil {
		return fmt.Errorf("%q: %s has no flag --%s", spec, cmd.CommandPath(), flag)
	}
	return nil
}
