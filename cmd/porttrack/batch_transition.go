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
	return newBatchTransitionCmd(e, "start N",
		"Move a pending batch to in_progress once every dependency is complete", runBatchStart)
}

func runBatchStart(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return transitionBatch(ctx, e, opts, (*db.DB).StartBatch, "in_progress")
}

func newBatchCompleteCmd(e *env) *cobra.Command {
	return newBatchTransitionCmd(e, "complete N",
		"Move an in_progress batch to complete once every item is verified or explicitly deferred and its checkpoints passed", runBatchComplete)
}

func runBatchComplete(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return transitionBatch(ctx, e, opts, (*db.DB).CompleteBatch, "complete")
}

// newBatchTransitionCmd builds a command that takes one batch ID; start and
// complete differ only in their text and the transition they run.
func newBatchTransitionCmd(e *env, use, short string, run func(context.Context, *env, *batchTransitionOptions) error) *cobra.Command {
	opts := &batchTransitionOptions{}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return run(ctx, e, opts)
		}),
	}
}

// transitionBatch applies move to the batch and reports the status it reached.
func transitionBatch(ctx context.Context, e *env, opts *batchTransitionOptions,
	move func(d *db.DB, ctx context.Context, id int, actor string) error, reached string) error {
	return withWrite(ctx, e, func(d *db.DB) error {
		if err := move(d, ctx, opts.ID, e.Actor); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.Out, "Batch %d is %s\n", opts.ID, reached)
		return err
	})
}
