package main

import (
	"context"
	"fmt"

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
		Example: fmt.Sprintf("  porttrack %s list --batch 31 --slice %s --status verified\n  porttrack %s list --status deferred --json",
			kind, map[db.ItemKind]string{db.KindFeature: "A", db.KindTest: "T1"}[kind], kind),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runItemList(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "only items of this batch")
	cmd.Flags().StringVar(&opts.Status, "status", "", "only items with this status")
	cmd.Flags().StringVar(&opts.Slice, "slice", "", "only items of this slice (A, B, C, T1, T2)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.RegisterFlagCompletionFunc("slice", completeSlices(e, kind))
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
	// Columns a filter already fixes say nothing: --batch drops the batch,
	// --slice the slice, a shared reason its column.
	columns := []struct {
		name string
		show bool
		cell func(db.Item) string
	}{
		{"ID", true, func(it db.Item) string { return fmt.Sprint(it.ID) }},
		{"Batch", opts.Batch == 0, func(it db.Item) string { return fmt.Sprint(it.BatchID) }},
		{"Slice", opts.Slice == "", func(it db.Item) string { return orDash(it.Slice) }},
		{"Symbol", true, func(it db.Item) string { return it.GoSymbol }},
		{"Status", true, func(it db.Item) string { return string(it.Status) }},
		{"Reason", !sharedOK, func(it db.Item) string { return it.Reason }},
		{"Target", true, shortTarget},
	}
	var header []string
	var keep []int
	for _, c := range columns {
		if !c.show {
			continue
		}
		if c.name != "Reason" && c.name != "Target" {
			keep = append(keep, len(header))
		}
		header = append(header, c.name)
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		for _, c := range columns {
			if c.show {
				rows[i] = append(rows[i], c.cell(it))
			}
		}
	}
	table := textout.Table{Header: header, Rows: rows, Keep: keep, CutFront: []int{len(header) - 1}}
	if err := textout.Print(e.Out, table); err != nil {
		return err
	}
	return textout.Linef(e.Out, "%d %s: %s", len(items), opts.Kind.Plural(), countStatuses(items))
}
