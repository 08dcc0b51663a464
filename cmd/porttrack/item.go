package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// newItemCmd builds the "feature" or "test" command group; both kinds share
// every subcommand except deps, which needs the features' call graph.
func newItemCmd(e *env, kind db.ItemKind) *cobra.Command {
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: fmt.Sprintf("List, show, map and update %s", kind.Plural()),
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("%s needs a subcommand; run 'porttrack %s --help'", kind, kind)
		},
	}
	cmd.AddCommand(newItemListCmd(e, kind), newItemShowCmd(e, kind), newItemUpdateCmd(e, kind), newItemMapCmd(e, kind))
	if kind == db.KindFeature {
		cmd.AddCommand(newFeatureDepsCmd(e))
	}
	return cmd
}
