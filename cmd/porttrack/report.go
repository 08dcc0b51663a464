package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type reportSummaryOptions struct {
	JSON bool
}

func newReportCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Progress reports",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("report needs a subcommand: summary")
		},
	}
	opts := &reportSummaryOptions{}
	summary := &cobra.Command{
		Use:   "summary",
		Short: "Overall progress (verified and n_a items count as done), then counts by status and by batch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReportSummary(cmd.Context(), e, opts)
		},
	}
	summary.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.AddCommand(summary)
	return cmd
}

type progressReport struct {
	Done     int            `json:"done"`
	Total    int            `json:"total"`
	Percent  float64        `json:"percent"`
	Features statusCounts   `json:"features"`
	Tests    statusCounts   `json:"tests"`
	Batches  []batchSummary `json:"batches"`
}

// done counts the items that need no more work.
func done(c statusCounts) int { return c[db.StatusVerified] + c[db.StatusNA] }

func percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) * 100 / float64(whole)
}

func runReportSummary(ctx context.Context, e *env, opts *reportSummaryOptions) error {
	summaries, err := loadSummaries(ctx, e, (*db.DB).Batches)
	if err != nil {
		return err
	}
	r := progressReport{Features: statusCounts{}, Tests: statusCounts{}, Batches: summaries}
	for _, s := range summaries {
		for st, n := range s.Features {
			r.Features[st] += n
		}
		for st, n := range s.Tests {
			r.Tests[st] += n
		}
	}
	r.Done = done(r.Features) + done(r.Tests)
	r.Total = r.Features.total() + r.Tests.total()
	r.Percent = percent(r.Done, r.Total)
	if opts.JSON {
		return writeJSON(e.Out, r)
	}
	fmt.Fprintf(e.Out, "Overall progress: %d/%d (%.1f%%)\n", r.Done, r.Total, r.Percent)
	fmt.Fprintln(e.Out, "(verified and n_a items count as done)")
	fmt.Fprintln(e.Out, "\nBy status:")
	var rows [][]string
	for _, st := range db.ItemStatuses {
		rows = append(rows, []string{string(st), fmt.Sprint(r.Features[st]), fmt.Sprint(r.Tests[st]), fmt.Sprint(r.Features[st] + r.Tests[st])})
	}
	if err := renderTable(e.Out, []string{"Status", "Features", "Tests", "Total"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(e.Out, "\nBy batch:")
	rows = nil
	for _, s := range summaries {
		bDone := done(s.Features) + done(s.Tests)
		bTotal := s.Features.total() + s.Tests.total()
		rows = append(rows, []string{
			fmt.Sprint(s.ID), s.Name, string(s.Status),
			fmt.Sprintf("%d/%d", done(s.Features), s.Features.total()),
			fmt.Sprintf("%d/%d", done(s.Tests), s.Tests.total()),
			fmt.Sprintf("%d/%d (%.1f%%)", bDone, bTotal, percent(bDone, bTotal)),
		})
	}
	return renderTable(e.Out, []string{"Batch", "Name", "Status", "Features done", "Tests done", "Progress"}, rows)
}
