package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type featureDepsOptions struct {
	ID   int
	JSON bool
}

func newFeatureDepsCmd(e *env) *cobra.Command {
	opts := &featureDepsOptions{}
	cmd := &cobra.Command{
		Use:               "deps ID",
		Short:             "Show a feature's callers and callees from the reference call graph, with their statuses",
		Example:           "  porttrack feature deps 2751",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeItemIDs(e, db.KindFeature),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runFeatureDeps(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

type featureDeps struct {
	ID      int       `json:"id"`
	Symbol  string    `json:"symbol"`
	Status  db.Status `json:"status"`
	Callers []db.Item `json:"callers"`
	Callees []db.Item `json:"callees"`
}

func runFeatureDeps(ctx context.Context, e *env, opts *featureDepsOptions) error {
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Item(ctx, db.KindFeature, opts.ID)
	if err != nil {
		return err
	}
	callers, err := d.Callers(ctx, opts.ID)
	if err != nil {
		return err
	}
	callees, err := d.Callees(ctx, opts.ID)
	if err != nil {
		return err
	}
	deps := featureDeps{ID: it.ID, Symbol: it.GoSymbol, Status: it.Status, Callers: callers, Callees: callees}
	if opts.JSON {
		return writeJSON(e.Out, deps)
	}
	textout.Linef(e.Out, "feature %d: %s (%s)", it.ID, it.GoSymbol, it.Status)
	for _, group := range []struct {
		title string
		items []db.Item
	}{{"Callers", callers}, {"Callees", callees}} {
		fmt.Fprintf(e.Out, "\n%s: %d\n", group.title, len(group.items))
		if len(group.items) == 0 {
			continue
		}
		rows := make([][]string, len(group.items))
		for i, c := range group.items {
			rows[i] = []string{fmt.Sprint(c.ID), c.GoSymbol, fmt.Sprint(c.BatchID), string(c.Status)}
		}
		if err := renderTable(e.Out, []string{"ID", "Symbol", "Batch", "Status"}, rows); err != nil {
			return err
		}
	}
	return nil
}
