package main

import (
	"github.com/spf13/cobra"
)

func newBatchCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "List, show, start and complete batches",
		Example: `  porttrack batch list
  porttrack batch show 31`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("batch needs a subcommand: list, show, ready, start, complete")
		},
	}
	cmd.AddCommand(newBatchListCmd(e), newBatchShowCmd(e), newBatchReadyCmd(e), newBatchStartCmd(e), newBatchCompleteCmd(e))
	return cmd
}
