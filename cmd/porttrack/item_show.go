package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type itemShowOptions struct {
	Kind db.ItemKind
	ID   int
	JSON bool
}

func newItemShowCmd(e *env, kind db.ItemKind) *cobra.Command {
	opts := &itemShowOptions{Kind: kind}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: fmt.Sprintf("Show one %s with its latest gate evidence", kind),
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runItemShow(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

type itemDetail struct {
	db.Item
	Evidence []db.Evidence `json:"evidence"`
}

func runItemShow(ctx context.Context, e *env, opts *itemShowOptions) error {
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	it, err := d.Item(ctx, opts.Kind, opts.ID)
	if err != nil {
		return err
	}
	latest, err := d.LatestEvidence(ctx, opts.Kind, opts.ID)
	if err != nil {
		return err
	}
	detail := itemDetail{Item: it, Evidence: []db.Evidence{}}
	for _, g := range db.Gates {
		if ev, ok := latest[g]; ok {
			detail.Evidence = append(detail.Evidence, ev)
		}
	}
	if opts.JSON {
		return writeJSON(e.Out, detail)
	}
	w := e.Out
	fmt.Fprintf(w, "%s %d: %s\n", opts.Kind, it.ID, it.GoSymbol)
	fmt.Fprintf(w, "Batch:     %d\n", it.BatchID)
	if it.Slice != "" {
		fmt.Fprintf(w, "Slice:     %s\n", it.Slice)
	}
	fmt.Fprintf(w, "Status:    %s\n", it.Status)
	fmt.Fprintf(w, "Reason:    %s\n", orDash(it.Reason))
	fmt.Fprintf(w, "Reference: %s:%d-%d\n", it.GoFile, it.GoLineStart, it.GoLineEnd)
	fmt.Fprintf(w, "Target:    %s\n", target(it))
	if len(detail.Evidence) == 0 {
		_, err := fmt.Fprintln(w, "Evidence:  none recorded")
		return err
	}
	fmt.Fprintln(w, "\nLatest evidence per gate:")
	rows := make([][]string, len(detail.Evidence))
	for i, ev := range detail.Evidence {
		rows[i] = []string{string(ev.Gate), passFail(ev.Passed), ev.Summary, ev.GitCommit, ev.CreatedAt}
	}
	return renderTable(w, []string{"Gate", "Result", "Summary", "Commit", "At"}, rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func passFail(passed bool) string {
	if passed {
		return "pass"
	}
	return "fail"
}
