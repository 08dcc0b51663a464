package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type batchShowOptions struct {
	ID   int
	JSON bool
}

func newBatchShowCmd(e *env) *cobra.Command {
	opts := &batchShowOptions{}
	cmd := &cobra.Command{
		Use:   "show N",
		Short: "Show a batch: status, dependencies, and its features and tests by slice",
		Example: `  porttrack batch show 31
  porttrack batch show 31 --wide     # every column, nothing cut
  porttrack batch show 31 --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeBatchIDs(e),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runBatchShow(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// batchDetail is the JSON shape of batch show.
type batchDetail struct {
	db.Batch
	FeatureCounts statusCounts `json:"feature_counts"`
	TestCounts    statusCounts `json:"test_counts"`
	Features      []db.Item    `json:"features"`
	Tests         []db.Item    `json:"tests"`
}

func runBatchShow(ctx context.Context, e *env, opts *batchShowOptions) error {
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	b, err := d.Batch(ctx, opts.ID)
	if err != nil {
		return err
	}
	features, err := d.Items(ctx, db.KindFeature, db.ItemFilter{BatchID: b.ID})
	if err != nil {
		return err
	}
	tests, err := d.Items(ctx, db.KindTest, db.ItemFilter{BatchID: b.ID})
	if err != nil {
		return err
	}
	detail := batchDetail{
		Batch:         b,
		FeatureCounts: countStatuses(features),
		TestCounts:    countStatuses(tests),
		Features:      nonNil(features),
		Tests:         nonNil(tests),
	}
	if opts.JSON {
		return writeJSON(e.Out, detail)
	}
	return printBatchDetail(e.Out, detail, e.Wide)
}

func nonNil(items []db.Item) []db.Item {
	if items == nil {
		return []db.Item{}
	}
	return items
}

func printBatchDetail(w io.Writer, b batchDetail, wide bool) error {
	textout.Linef(w, "Batch %d: %s", b.ID, b.Name)
	err := textout.Fields(w, []textout.Field{
		{Label: "Status", Value: string(b.Status)},
		{Label: "Go file", Value: b.GoFile},
		{Label: "Depends on", Value: formatIDs(b.DependsOn)},
		{Label: "Gates", Value: formatIDs(b.Gates)},
		{Label: "Description", Value: b.Description},
		{Label: "Features", Value: countCell(b.FeatureCounts)},
		{Label: "Tests", Value: countCell(b.TestCounts)},
	})
	if err != nil {
		return err
	}
	if err := printSlices(w, "Features", "group", b.Features, wide); err != nil {
		return err
	}
	return printSlices(w, "Tests", "wave", b.Tests, wide)
}

// printSlices prints one table per slice, in catalog order. The design calls
// feature slices groups and test slices waves.
func printSlices(w io.Writer, title, sliceWord string, items []db.Item, wide bool) error {
	var order []string
	bySlice := map[string][]db.Item{}
	for _, it := range items {
		if _, seen := bySlice[it.Slice]; !seen {
			order = append(order, it.Slice)
		}
		bySlice[it.Slice] = append(bySlice[it.Slice], it)
	}
	for _, slice := range order {
		group := bySlice[slice]
		heading := title
		if slice != "" {
			heading = fmt.Sprintf("%s, %s %s", title, sliceWord, slice)
		}
		fmt.Fprintln(w)
		textout.Linef(w, "%s: %s", heading, countCell(countStatuses(group)))
		if err := printItems(w, group, wide); err != nil {
			return err
		}
	}
	return nil
}

// printItems prints one row per item. A reason every item shares (the
// import's "not yet ported", a promotion's) is printed once above the table
// instead of in every row, and a target is its file alone when the port
// kept the reference's name: the columns that remain fit a narrow terminal.
// --wide prints every column in every row.
func printItems(w io.Writer, items []db.Item, wide bool) error {
	shared, sharedOK := sharedReason(items)
	if sharedOK && !wide {
		textout.Linef(w, "Reason of all %d: %s", len(items), shared)
	}
	header := []string{"ID", "Symbol"}
	if wide {
		header = append(header, "Go lines")
	}
	header = append(header, "Status")
	if !sharedOK || wide {
		header = append(header, "Reason")
	}
	header = append(header, "Target")
	rows := make([][]string, len(items))
	for i, it := range items {
		row := []string{fmt.Sprint(it.ID), it.GoSymbol}
		if wide {
			row = append(row, fmt.Sprintf("%d-%d", it.GoLineStart, it.GoLineEnd))
		}
		row = append(row, string(it.Status))
		if !sharedOK || wide {
			row = append(row, it.Reason)
		}
		rows[i] = append(row, shortTarget(it))
	}
	// ID, symbol and status identify a row; reason and target give way.
	return textout.Print(w, textout.Table{Header: header, Rows: rows,
		Keep: []int{0, 1, slices.Index(header, "Status")}, CutFront: []int{len(header) - 1}})
}

// sharedReason returns the reason every item has, if they all have one.
func sharedReason(items []db.Item) (string, bool) {
	if len(items) < 2 {
		return "", false
	}
	for _, it := range items[1:] {
		if it.Reason != items[0].Reason {
			return "", false
		}
	}
	return items[0].Reason, items[0].Reason != ""
}

func target(it db.Item) string {
	if it.TargetFile == "" {
		return "-"
	}
	return it.TargetFile + " " + it.TargetSymbol
}

// shortTarget is target without the symbol when it is the reference's own.
func shortTarget(it db.Item) string {
	if it.TargetFile != "" && it.TargetSymbol == it.GoSymbol {
		return it.TargetFile
	}
	return target(it)
}
