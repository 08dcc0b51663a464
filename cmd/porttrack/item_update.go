package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type itemUpdateOptions struct {
	Kind     db.ItemKind
	IDs      string
	Status   string
	Override string
	Batch    int
	Execute  bool
	JSON     bool
}

func newItemUpdateCmd(e *env, kind db.ItemKind) *cobra.Command {
	opts := &itemUpdateOptions{Kind: kind}
	cmd := &cobra.Command{
		Use:   "batch-update --ids LIST --set-status S [--override REASON] [--batch N] [--execute]",
		Short: fmt.Sprintf("Change the status of up to %d %s at once (a dry run unless --execute)", db.MaxIDsPerCall, kind.Plural()),
		Long: fmt.Sprintf(`Change the status of up to %d %s in one transaction.

LIST holds IDs and ranges: 2733-2740,2745. Without --execute nothing is written
and the changes that would be made are printed. Every ID is checked against
every rule first; one refused ID refuses the whole call.

Moves to deferred or n_a need --override "reason". Moves to complete or
verified need current passing evidence for each required gate, recorded by the
verify gates. No item changes while its batch cannot start.`, db.MaxIDsPerCall, kind.Plural()),
		Example: updateExample(kind),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runItemUpdate(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.IDs, "ids", "", "IDs and ranges, e.g. 2733-2740,2745")
	cmd.Flags().StringVar(&opts.Status, "set-status", "", "new status: deferred, stub, complete, verified, n_a")
	cmd.Flags().StringVar(&opts.Override, "override", "", "explicit reason, required for deferred and n_a")
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "refuse IDs outside this batch")
	cmd.Flags().BoolVar(&opts.Execute, "execute", false, "apply the changes (default: dry run)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print what changed (or would), or what was refused and why, as JSON")
	cmd.RegisterFlagCompletionFunc("ids", completeIDList(e, kind))
	return cmd
}

func updateExample(kind db.ItemKind) string {
	if kind == db.KindTest {
		return `  porttrack --db /tmp/tour.db test batch-update --ids 2616 --set-status deferred --override "needs a cluster harness" --execute`
	}
	return `  porttrack --db /tmp/tour.db feature batch-update --ids 2599-2605 --set-status stub             # dry run
  porttrack --db /tmp/tour.db feature batch-update --ids 2599-2605 --set-status stub --execute --json`
}

func runItemUpdate(ctx context.Context, e *env, opts *itemUpdateOptions) error {
	plan, err := updateItems(ctx, e, opts)
	res := writeResult{DryRun: !opts.Execute, Changes: plan.Changes, Details: map[string]any{"unchanged": nonNilIDs(plan.Unchanged)}}
	return finishWrite(e.Out, opts.JSON, res, err, func() error {
		if opts.Execute {
			return printPlan(e, opts.Kind, plan, "Changed", "")
		}
		return printPlan(e, opts.Kind, plan, "Dry run, nothing written; would change", "Run again with --execute to apply.")
	})
}

// updateItems checks the request and plans the change, applying it with
// --execute.
func updateItems(ctx context.Context, e *env, opts *itemUpdateOptions) (db.Plan, error) {
	if opts.IDs == "" {
		return db.Plan{}, usagef("batch-update needs --ids")
	}
	if opts.Status == "" {
		return db.Plan{}, usagef("batch-update needs --set-status")
	}
	if opts.Batch < 0 {
		return db.Plan{}, usagef("invalid --batch %d: batch IDs are positive", opts.Batch)
	}
	ids, err := parseIDList(opts.IDs)
	if err != nil {
		return db.Plan{}, err
	}
	to, err := db.ParseStatus(opts.Status)
	if err != nil {
		return db.Plan{}, err
	}
	req := db.StatusChange{
		Kind: opts.Kind, IDs: ids, To: to, Reason: opts.Override, BatchID: opts.Batch,
		Actor: e.Actor, Root: e.Root, DryRun: !opts.Execute,
	}
	change := func(d *db.DB) (db.Plan, error) {
		if opts.Batch != 0 {
			if _, err := d.Batch(ctx, opts.Batch); err != nil {
				return db.Plan{}, err
			}
		}
		return d.ChangeItemStatus(ctx, req)
	}
	// A dry run plans the same change but writes nothing, so it needs no
	// checkpoint and opens the database as a read command does.
	if req.DryRun {
		d, err := openDB(ctx, e)
		if err != nil {
			return db.Plan{}, err
		}
		defer d.Close()
		return change(d)
	}
	var plan db.Plan
	err = withWrite(ctx, e, func(d *db.DB) error {
		var err error
		plan, err = change(d)
		return err
	})
	return plan, err
}

func nonNilIDs(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

func printPlan(e *env, kind db.ItemKind, plan db.Plan, lead, tail string) error {
	fmt.Fprintf(e.Out, "%s %d %s\n", lead, len(plan.Changes), kind.Plural())
	if len(plan.Changes) > 0 {
		rows := make([][]string, len(plan.Changes))
		for i, c := range plan.Changes {
			rows[i] = []string{fmt.Sprint(c.ID), fmt.Sprint(c.BatchID), string(c.From), string(c.To), orDash(c.Reason)}
		}
		if err := renderTable(e.Out, []string{"ID", "Batch", "From", "To", "Reason"}, rows); err != nil {
			return err
		}
	}
	if len(plan.Unchanged) > 0 {
		fmt.Fprintf(e.Out, "Already at that status and reason: %s\n", formatIDs(plan.Unchanged))
	}
	if tail != "" && len(plan.Changes) > 0 {
		fmt.Fprintln(e.Out, tail)
	}
	return nil
}
