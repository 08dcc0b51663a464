package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
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
		Args:  cobra.ExactArgs(1),
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
	return printBatchDetail(e.Out, detail)
}

func nonNil(items []db.Item) []db.Item {
	if items == nil {
		return []db.Item{}
	}
	return items
}

func printBatchDetail(w io.Writer, b batchDetail) error {
	fmt.Fprintf(w, "Batch %d: %s\n", b.ID, b.Name)
	fmt.Fprintf(w, "Status:      %s\n", b.Status)
	fmt.Fprintf(w, "Go file:     %s\n", b.GoFile)
	fmt.Fprintf(w, "Depends on:  %s\n", formatIDs(b.DependsOn))
	fmt.Fprintf(w, "Gates:       %s\n", formatIDs(b.Gates))
	fmt.Fprintf(w, "Description: %s\n", b.Description)
	fmt.Fprintf(w, "Features:    %s\n", countCell(b.FeatureCounts))
	fmt.Fprintf(w, "Tests:       %s\n", countCell(b.TestCounts))
	if err := printSlices(w, "Features", "group", b.Features); err != nil {
		return err
	}
	return printSlices(w, "Tests", "wave", b.Tests)
}

// printSlices prints one table per slice, in catalog order. The design calls
// feature slices groups and test slices waves.
func printSlices(w io.Writer, title, sliceWord string, items []db.Item) error {
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
		fmt.Fprintf(w, "\n%s: %s\n", heading, countCell(countStatuses(group)))
		if err := printItems(w, group); err != nil {
			return err
		}
	}
	return nil
}

func printItems(w io.Writer, items []db.Item) error {
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = []string{fmt.Sprint(it.ID), it.GoSymbol, fmt.Sprintf("%d-%d", it.GoLineStart, it.GoLineEnd), string(it.Status), it.Reason, target(it)}
	}
	return renderTable(w, []string{"ID", "Symbol", "Go lines", "Status", "Reason", "Target"}, rows)
}

func target(it db.Item) string {
	if it.TargetFile == "" {
		return "-"
	}
	return it.TargetFile + " " + it.TargetSymbol
}
