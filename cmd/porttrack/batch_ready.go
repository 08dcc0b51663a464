package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
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
	if len(summaries) == 0 && !opts.JSON {
		// An empty table says nothing; say why nothing is ready.
		return textout.Paragraph(e.Out, 0, "No batch is ready: every pending batch waits for a batch that is not complete, or has no items yet (porttrack next says which).")
	}
	return printBatchSummaries(e, summaries, opts.JSON)
}
