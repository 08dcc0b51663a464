package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type historyOptions struct {
	ID    int
	Test  bool
	Batch bool
	JSON  bool
}

func newHistoryCmd(e *env) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show the status-change log of a feature (or, with --test, a test; with --batch, a batch)",
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runHistory(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.Test, "test", false, "ID is a test, not a feature")
	cmd.Flags().BoolVar(&opts.Batch, "batch", false, "ID is a batch")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runHistory(ctx context.Context, e *env, opts *historyOptions) error {
	if opts.Test && opts.Batch {
		return usagef("history takes --test or --batch, not both")
	}
	kind := db.KindFeature
	switch {
	case opts.Test:
		kind = db.KindTest
	case opts.Batch:
		kind = db.KindBatch
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	var title string
	if kind == db.KindBatch {
		b, err := d.Batch(ctx, opts.ID)
		if err != nil {
			return err
		}
		title = fmt.Sprintf("batch %d: %s, now %s", b.ID, b.Name, b.Status)
	} else {
		it, err := d.Item(ctx, kind, opts.ID)
		if err != nil {
			return err
		}
		title = fmt.Sprintf("%s %d: %s, now %s", kind, it.ID, it.GoSymbol, it.Status)
	}
	log, err := d.History(ctx, kind, opts.ID)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(e.Out, log)
	}
	fmt.Fprintln(e.Out, title)
	rows := make([][]string, len(log))
	for i, l := range log {
		ev := "-"
		if l.EvidenceID != nil {
			ev = fmt.Sprint(*l.EvidenceID)
		}
		rows[i] = []string{l.At, orDash(l.From), l.To, l.Actor, l.Reason, ev}
	}
	return renderTable(e.Out, []string{"At", "From", "To", "Actor", "Reason", "Evidence"}, rows)
}
