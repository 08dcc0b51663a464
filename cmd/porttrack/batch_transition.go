package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type batchTransitionOptions struct {
	ID   int
	JSON bool
}

func newBatchStartCmd(e *env) *cobra.Command {
	return newBatchTransitionCmd(e, "start N",
		"Move a pending batch to in_progress once every dependency is complete",
		"  porttrack --db /tmp/tour.db batch start 30", runBatchStart)
}

func runBatchStart(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return transitionBatch(ctx, e, opts, (*db.DB).StartBatch, db.BatchInProgress)
}

func newBatchCompleteCmd(e *env) *cobra.Command {
	return newBatchTransitionCmd(e, "complete N",
		"Move an in_progress batch to complete once every item is verified or explicitly deferred and its checkpoints passed",
		"  porttrack batch complete 31\n  porttrack batch complete 31 --json   # what was refused and why", runBatchComplete)
}

func runBatchComplete(ctx context.Context, e *env, opts *batchTransitionOptions) error {
	return transitionBatch(ctx, e, opts, (*db.DB).CompleteBatch, db.BatchComplete)
}

// newBatchTransitionCmd builds a command that takes one batch ID; start and
// complete differ only in their text and the transition they run.
func newBatchTransitionCmd(e *env, use, short, example string, run func(context.Context, *env, *batchTransitionOptions) error) *cobra.Command {
	opts := &batchTransitionOptions{}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Example:           example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeBatchIDs(e),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return run(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the change, or what was refused and why, as JSON")
	return cmd
}

// batchChange is a batch's status change, as --json prints it.
type batchChange struct {
	Kind db.ItemKind    `json:"kind"`
	ID   int            `json:"id"`
	From db.BatchStatus `json:"from"`
	To   db.BatchStatus `json:"to"`
}

// transitionBatch applies move to the batch and reports the status it reached.
func transitionBatch(ctx context.Context, e *env, opts *batchTransitionOptions,
	move func(d *db.DB, ctx context.Context, id int, actor string) error, reached db.BatchStatus) error {
	change := batchChange{Kind: db.KindBatch, ID: opts.ID, To: reached}
	err := withWrite(ctx, e, func(d *db.DB) error {
		b, err := d.Batch(ctx, opts.ID)
		if err != nil {
			return err
		}
		change.From = b.Status
		return move(d, ctx, opts.ID, e.Actor)
	})
	var changes []batchChange
	if err == nil {
		changes = []batchChange{change}
	}
	return finishWrite(e.Out, opts.JSON, writeResult{Changes: changes}, err, func() error {
		_, err := fmt.Fprintf(e.Out, "Batch %d is %s\n", opts.ID, reached)
		return err
	})
}
