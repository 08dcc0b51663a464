package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type batchListOptions struct {
	JSON bool
}

func newBatchListCmd(e *env) *cobra.Command {
	opts := &batchListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List batches with item counts, dependencies and the batches each gates",
		Args:  cobra.NoArgs,
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
			countCell(s.Features), countCell(s.Tests),
			formatIDs(s.DependsOn), formatIDs(s.Gates),
		})
	}
	return renderTable(e.Out, []string{"ID", "Name", "Status", "Features", "Tests", "Depends on", "Gates"}, rows)
}

func countCell(c statusCounts) string {
	if c.total() == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", c.total(), c)
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
