package main

import (
	"context"

	"github.com/spf13/cobra"
)

// runWithID adapts run to cobra for commands whose one argument is an ID:
// the argument is parsed, so a bad ID is reported before the database is
// touched, and stored in *id, the options field run reads.
func runWithID(id *int, run func(context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		parsed, err := parseID(args[0])
		if err != nil {
			return err
		}
		*id = parsed
		return run(cmd.Context())
	}
}
