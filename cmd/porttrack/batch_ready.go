package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type batchReadyOptions struct {
	JSON bool
}

func newBatchReadyCmd(e *env) *cobra.Command {
	opts := &batchReadyOptions{}
	cmd := &cobra.Command{
		Use:     "ready",
		Short:   "List the pending batches whose dependencies are all complete",
		Example: "  porttrack batch ready",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchReady(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runBatchReady(ctx context.Context, e *env, opts *batchReadyOptions) error {
	summaries, err := loadSummaries(ctx, e, (*db.DB).ReadyBatches)
	if err != nil {
		return err
	}
	return printBatchSummaries(e, summaries, opts.JSON)
}
