package main

import (
	"context"

	"github.com/spf13/cobra"
)

type batchReadyOptions struct {
	JSON bool
}

func newBatchReadyCmd(e *env) *cobra.Command {
	opts := &batchReadyOptions{}
	cmd := &cobra.Command{
		Use:   "ready",
		Short: "List the pending batches whose dependencies are all complete",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchReady(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runBatchReady(ctx context.Context, e *env, opts *batchReadyOptions) error {
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	ready, err := d.ReadyBatches(ctx)
	if err != nil {
		return err
	}
	summaries, err := summarize(ctx, d, ready)
	if err != nil {
		return err
	}
	return printBatchSummaries(e, summaries, opts.JSON)
}
