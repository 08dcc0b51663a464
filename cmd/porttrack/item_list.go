package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type itemListOptions struct {
	Kind   db.ItemKind
	Batch  int
	Status string
	Slice  string
	JSON   bool
}

func newItemListCmd(e *env, kind db.ItemKind) *cobra.Command {
	opts := &itemListOptions{Kind: kind}
	cmd := &cobra.Command{
		Use:   "list",
		Short: fmt.Sprintf("List %s, optionally filtered by batch, status and slice", kind.Plural()),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runItemList(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "only items of this batch")
	cmd.Flags().StringVar(&opts.Status, "status", "", "only items with this status")
	cmd.Flags().StringVar(&opts.Slice, "slice", "", "only items of this slice (A, B, C, T1, T2)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runItemList(ctx context.Context, e *env, opts *itemListOptions) error {
	filter := db.ItemFilter{BatchID: opts.Batch, Slice: opts.Slice}
	if opts.Batch < 0 {
		return usagef("invalid --batch %d: batch IDs are positive", opts.Batch)
	}
	if opts.Status != "" {
		st, err := db.ParseStatus(opts.Status)
		if err != nil {
			return err
		}
		filter.Status = st
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	if opts.Batch != 0 {
		if _, err := d.Batch(ctx, opts.Batch); err != nil {
			return err
		}
	}
	items, err := d.Items(ctx, opts.Kind, filter)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(e.Out, nonNil(items))
	}
	// As in batch show, a reason shared by every item is printed once.
	shared, sharedOK := sharedReason(items)
	sharedOK = sharedOK && !e.Wide
	if sharedOK {
		textout.Linef(e.Out, "Reason of all %d: %s", len(items), shared)
	}
	header := []string{"ID", "Batch", "Slice", "Symbol", "Status", "Reason", "Target"}
	if sharedOK {
		header = slices.Delete(header, 5, 6)
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = []string{fmt.Sprint(it.ID), fmt.Sprint(it.BatchID), orDash(it.Slice), it.GoSymbol, string(it.Status), it.Reason, shortTarget(it)}
		if sharedOK {
			rows[i] = slices.Delete(rows[i], 5, 6)
		}
	}
	table := textout.Table{Header: header, Rows: rows, Keep: []int{0, 1, 2, 3, 4}, CutFront: []int{len(header) - 1}}
	if err := textout.Print(e.Out, table); err != nil {
		return err
	}
	return textout.Linef(e.Out, "%d %s: %s", len(items), opts.Kind.Plural(), countStatuses(items))
}
