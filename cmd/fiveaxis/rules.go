package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/analyzers"
	"github.com/fiveaxis/fiveaxis/axes/llm"
)

// allCheckers is the explicit list of every rule fiveaxis runs.
func allCheckers() []*axes.Checker {
	var out []*axes.Checker
	for _, list := range checkerSets {
		out = append(out, list()...)
	}
	return out
}

func newRulesCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List every rule with its id, axis, severity and doc",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The prompt-injection rule lives with the LLM reviewer but runs
			// whether a model is configured or not.
			cs := append(allCheckers(), llm.PromptInjection())
			if err := axes.Validate(cs); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tAXIS\tSEVERITY\tDESCRIPTION")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Axis, c.Severity, c.Title())
			}
			// The type-checked analyzers run as one checker; list the rules
			// their findings carry.
			for _, r := range analyzers.Rules(analyzers.Options{}) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Axis, r.Severity, r.Why)
			}
			return tw.Flush()
		},
	}
}
