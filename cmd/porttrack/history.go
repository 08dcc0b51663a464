package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type historyOptions struct {
	ID   int
	Test bool
	JSON bool
}

func newHistoryCmd(e *env) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show the status-change log of a feature (or, with --test, a test)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			opts.ID = id
			return runHistory(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Test, "test", false, "ID is a test, not a feature")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runHistory(ctx context.Context, e *env, opts *historyOptions) error {
	kind := db.KindFeature
	if opts.Test {
		kind = db.KindTest
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Item(ctx, kind, opts.ID)
	if err != nil {
		return err
	}
	log, err := d.History(ctx, kind, opts.ID)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(e.Out, log)
	}
	fmt.Fprintf(e.Out, "%s %d: %s, now %s\n", kind, it.ID, it.GoSymbol, it.Status)
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
