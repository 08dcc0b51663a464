package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type batchListOptions struct {
	JSON bool
}

func newBatchListCmd(e *env) *cobra.Command {
	opts := &batchListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List batches with item counts, dependencies and the batches each gates",
		Example: "  porttrack batch list\n  porttrack batch list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchList(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// batchSummary is a batch with its items' status counts.
type batchSummary struct {
	db.Batch
	Features statusCounts `json:"features"`
	Tests    statusCounts `json:"tests"`
}

func runBatchList(ctx context.Context, e *env, opts *batchListOptions) error {
	summaries, err := loadSummaries(ctx, e, (*db.DB).Batches)
	if err != nil {
		return err
	}
	return printBatchSummaries(e, summaries, opts.JSON)
}

func printBatchSummaries(e *env, summaries []batchSummary, asJSON bool) error {
	if asJSON {
		return writeJSON(e.Out, summaries)
	}
	var rows [][]string
	for _, s := range summaries {
		rows = append(rows, []string{
			fmt.Sprint(s.ID), s.Name, string(s.Status),
			compactCountCell(s.Features), compactCountCell(s.Tests),
			formatIDs(s.DependsOn), formatIDs(s.Gates),
		})
	}
	return textout.Print(e.Out, textout.Table{Header: []string{"ID", "Name", "Status", "Features", "Tests", "Depends on", "Gates"},
		Rows: rows, Keep: []int{0, 2, 5, 6}})
}

// countCell is a total with its split by status: "53 (verified 50, stub 3)".
func countCell(c statusCounts) string {
	if c.total() == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", c.total(), c)
}

// compactCountCell is countCell for a table: when every item has one
// status it says so in a word, "53 verified".
func compactCountCell(c statusCounts) string {
	for st, n := range c {
		if n > 0 && n == c.total() {
			return fmt.Sprintf("%d %s", n, st)
		}
	}
	return countCell(c)
}

// loadSummaries opens the database, picks batches with pick and attaches
// their counts; list, ready and report differ only in which batches they pick.
func loadSummaries(ctx context.Context, e *env, pick func(*db.DB, context.Context) ([]db.Batch, error)) ([]batchSummary, error) {
	d, err := openDB(ctx, e)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	batches, err := pick(d, ctx)
	if err != nil {
		return nil, err
	}
	return summarize(ctx, d, batches)
}

// summarize attaches each batch's feature and test counts.
func summarize(ctx context.Context, d *db.DB, batches []db.Batch) ([]batchSummary, error) {
	counts, err := d.StatusCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]batchSummary, len(batches))
	for i, b := range batches {
		out[i] = batchSummary{Batch: b, Features: statusCounts{}, Tests: statusCounts{}}
		for _, c := range counts {
			if c.BatchID != b.ID {
				continue
			}
			if c.Kind == db.KindFeature {
				out[i].Features[c.Status] += c.Count
			} else {
				out[i].Tests[c.Status] += c.Count
			}
		}
	}
	return out, nil
}
