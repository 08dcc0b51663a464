package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type nextOptions struct {
	Batch int
	Limit int
	JSON  bool
}

func newNextCmd(e *env) *cobra.Command {
	opts := &nextOptions{}
	cmd := &cobra.Command{
		Use:   "next [--batch N] [--limit K] [--json]",
		Short: "List the items to take now, callees before callers, and what blocks the rest",
		Long: `List the unfinished items of the batches that can start, in the order to take
them: a feature after the callees it must wait for (across batches), the
features of a call cycle together, a batch's tests after its features. Each
comes with its status, its callees' statuses and why it is there. Then the
blocked ones: batches that cannot start, and features waiting on a callee
that cannot come first, with what blocks them.`,
		Example: `  porttrack next
  porttrack next --batch 31 --limit 0
  porttrack next --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNext(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "only this batch's items")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "list at most K items to take (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runNext(ctx context.Context, e *env, opts *nextOptions) error {
	if opts.Limit < 0 || opts.Batch < 0 {
		return usagef("--limit and --batch take a number ≥ 0")
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	plan, err := d.Next(ctx, opts.Batch, opts.Limit)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(e.Out, plan)
	}
	total := plan.Total
	w := e.Out
	switch {
	case total > 0:
		shown := fmt.Sprintf("%d", total)
		if len(plan.Next) < total {
			shown = fmt.Sprintf("%d of %d (--limit 0 for all)", len(plan.Next), total)
		}
		fmt.Fprintf(w, "Take next, callees before callers: %s\n", shown)
		rows := make([][]string, len(plan.Next))
		for i, it := range plan.Next {
			rows[i] = []string{fmt.Sprint(i + 1), string(it.Kind), fmt.Sprint(it.ID), batchAndSlice(it), it.Symbol, string(it.Status), calleeSummary(it), it.Why}
		}
		if err := renderTable(w, []string{"#", "Kind", "ID", "Batch", "Symbol", "Status", "Callees", "Why"}, rows); err != nil {
			return err
		}
	case len(plan.Blocked) > 0 || len(plan.BlockedBatches) > 0:
		fmt.Fprintln(w, "Nothing to take now: what is left waits for something (below).")
	default:
		fmt.Fprintln(w, "Nothing to take now: every item of the batches that can start is verified, n_a or deferred with a reason.")
	}
	if plan.Deferred > 0 {
		fmt.Fprintf(w, "Left out: %d items deferred with a reason (porttrack feature list --status deferred).\n", plan.Deferred)
	}
	if len(plan.Complete) > 0 {
		fmt.Fprintf(w, "Complete: %s %s.\n", map[bool]string{true: "batch", false: "batches"}[len(plan.Complete) == 1], strings.Join(strings.Split(db.JoinIDs(plan.Complete), ","), ", "))
	}
	if len(plan.BlockedBatches) == 0 && len(plan.Blocked) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nBlocked:")
	for _, b := range plan.BlockedBatches {
		fmt.Fprintf(w, "  batch %d %s (%s, %d features, %d tests): %s\n", b.ID, b.Name, b.Status, b.Features, b.Tests, b.Why)
	}
	for _, it := range plan.Blocked {
		fmt.Fprintf(w, "  %s %d %s (batch %d, %s): %s\n", it.Kind, it.ID, it.Symbol, it.BatchID, it.Status, it.Why)
	}
	return nil
}

func batchAndSlice(it db.NextItem) string {
	if it.Slice == "" {
		return fmt.Sprint(it.BatchID)
	}
	return fmt.Sprintf("%d/%s", it.BatchID, it.Slice)
}

// calleeSummary counts a feature's callees by status: "3: verified 2, deferred 1".
func calleeSummary(it db.NextItem) string {
	if it.Kind != db.KindFeature {
		return "-"
	}
	if len(it.Callees) == 0 {
		return "none"
	}
	c := statusCounts{}
	for _, callee := range it.Callees {
		c[callee.Status]++
	}
	return strings.TrimSpace(fmt.Sprintf("%d: %s", len(it.Callees), c))
}
