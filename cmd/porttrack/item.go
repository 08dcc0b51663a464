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
		Use:     string(kind),
		Short:   fmt.Sprintf("List, show, map and update %s", kind.Plural()),
		Example: fmt.Sprintf("  porttrack %s list --batch 31\n  porttrack %s show %d", kind, kind, exampleID(kind)),
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("%s needs a subcommand; run 'porttrack %s --help'", kind, kind)
		},
	}
	cmd.AddCommand(newItemListCmd(e, kind), newItemShowCmd(e, kind), newItemUpdateCmd(e, kind), newItemMapCmd(e, kind))
	if kind == db.KindFeature {
		cmd.AddCommand(newFeatureDepsCmd(e), newExcuseMutantCmd(e))
	}
	return cmd
}

// exampleID is an item of batch 31 that help examples use.
func exampleID(kind db.ItemKind) int {
	if kind == db.KindTest {
		return 2626
	}
	return 2751
}
