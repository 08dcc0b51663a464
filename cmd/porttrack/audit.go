package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type auditOptions struct {
	Batch int
	Repo  string
}

func newAuditCmd(e *env) *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [--batch N]",
		Short: "Re-run the gates for every verified item and fail if any no longer holds",
		Long: `Re-run the gates (dependency, stub scan, build, test, coverage) for every
verified feature and test, of every batch or of --batch N, and exit 1 naming
the items that no longer pass: a test now failing or skipped, a body now a
placeholder, a feature no test reaches any more. CI runs it, so the evidence
in the committed porting.db cannot go stale silently.

Audit only reads the database: it changes no status and records nothing, so
it runs the same on a fresh clone as on a working tree.`,
		Example: "  porttrack audit\n  porttrack audit --batch 31",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "audit only this batch")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the checkout to audit (default: the repository porttrack runs in)")
	cmd.MarkFlagDirname("repo")
	return cmd
}

func runAudit(ctx context.Context, e *env, opts *auditOptions) error {
	if opts.Batch < 0 {
		return usagef("invalid --batch %d: batch IDs are positive", opts.Batch)
	}
	root, err := repoRoot(e, opts.Repo)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	scope := "any batch"
	if opts.Batch != 0 {
		if _, err := d.Batch(ctx, opts.Batch); err != nil {
			return err
		}
		scope = fmt.Sprintf("batch %d", opts.Batch)
	}
	var items []db.Item
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		found, err := d.Items(ctx, kind, db.ItemFilter{BatchID: opts.Batch, Status: db.StatusVerified})
		if err != nil {
			return err
		}
		items = append(items, found...)
	}
	if len(items) == 0 {
		_, err := fmt.Fprintf(e.Out, "No verified items in %s; nothing to audit.\n", scope)
		return err
	}
	for _, it := range items {
		if it.TargetFile == "" {
			return &db.RefusedError{Violations: []db.Violation{{Rule: "audit",
				Detail: fmt.Sprintf("verified %s has no mapped target, so nothing can show it still holds", it.Kind), IDs: []int{it.ID}}}}
		}
	}
	fmt.Fprintf(e.Out, "Auditing %d verified features and %d verified tests in %s\n",
		countKind(items, db.KindFeature), countKind(items, db.KindTest), scope)
	run, err := runAndPrintItemGates(ctx, e, d, root, items, 0)
	if err != nil {
		return err
	}
	if err := run.refusal("audit", "verified but no longer passing their gates"); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Out, "Audit passed: every verified item of %s still passes its gates.\n", scope)
	return err
}
