package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type batchTransitionOptions struct {
	ID int
}

func newBatchStartCmd(e *env) *cobra.Command {
	opts := &batchTransitionOptions{}
	return &cobra.Command{
		Use:   "start N",
		Short: "Move a pending batch to in_progress once every dependency is complete",
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runBatchStart(ctx, e, opts)
		}),
	}
}

func runBatchStart(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return withWrite(ctx, e, func(d *db.DB) error {
		if err := d.StartBatch(ctx, opts.ID, e.Actor); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.Out, "Batch %d is in_progress\n", opts.ID)
		return err
	})
}

func newBatchCompleteCmd(e *env) *cobra.Command {
	opts := &batchTransitionOptions{}
	return &cobra.Command{
		Use:   "complete N",
		Short: "Move an in_progress batch to complete once every item is verified or explicitly deferred",
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runBatchComplete(ctx, e, opts)
		}),
	}
}

func runBatchComplete(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return withWrite(ctx, e, func(d *db.DB) error {
		if err := d.CompleteBatch(ctx, opts.ID, e.Actor); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.Out, "Batch %d is complete\n", opts.ID)
		return err
	})
}
