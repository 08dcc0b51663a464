package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type itemShowOptions struct {
	Kind db.ItemKind
	ID   int
	JSON bool
}

func newItemShowCmd(e *env, kind db.ItemKind) *cobra.Command {
	opts := &itemShowOptions{Kind: kind}
	cmd := &cobra.Command{
		Use:               "show ID",
		Short:             fmt.Sprintf("Show one %s with its latest gate evidence", kind),
		Example:           fmt.Sprintf("  porttrack %s show %d\n  porttrack %s show %d --wide   # commands and full commits", kind, exampleID(kind), kind, exampleID(kind)),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeItemIDs(e, kind),
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
	// ExcusedMutants are the feature's mutants recorded as equivalent,
	// key -> reason.
	ExcusedMutants map[string]string `json:"excused_mutants,omitempty"`
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
	if opts.Kind == db.KindFeature {
		excuses, err := d.MutantExcuses(ctx)
		if err != nil {
			return err
		}
		detail.ExcusedMutants = excuses[it.ID]
	}
	for _, g := range db.Gates {
		if ev, ok := latest[g]; ok {
			detail.Evidence = append(detail.Evidence, ev)
		}
	}
	if opts.JSON {
		return writeJSON(e.Out, detail)
	}
	w := e.Out
	textout.Linef(w, "%s %d: %s", opts.Kind, it.ID, it.GoSymbol)
	fields := []textout.Field{{Label: "Batch", Value: fmt.Sprint(it.BatchID)}}
	if it.Slice != "" {
		fields = append(fields, textout.Field{Label: "Slice", Value: it.Slice})
	}
	fields = append(fields,
		textout.Field{Label: "Status", Value: string(it.Status)},
		textout.Field{Label: "Reason", Value: orDash(it.Reason)},
		textout.Field{Label: "Reference", Value: fmt.Sprintf("%s:%d-%d", it.GoFile, it.GoLineStart, it.GoLineEnd)},
		textout.Field{Label: "Target", Value: target(it)},
	)
	if it.MapReason != "" {
		fields = append(fields, textout.Field{Label: "Mapping reason", Value: it.MapReason})
	}
	for _, k := range slices.Sorted(maps.Keys(detail.ExcusedMutants)) {
		fields = append(fields, textout.Field{Label: "Excused mutant", Value: k + ": " + detail.ExcusedMutants[k]})
	}
	if len(detail.Evidence) == 0 {
		fields = append(fields, textout.Field{Label: "Evidence", Value: "none recorded"})
	}
	if err := textout.Fields(w, fields); err != nil || len(detail.Evidence) == 0 {
		return err
	}
	fmt.Fprintln(w, "\nLatest evidence per gate:")
	return printEvidenceTable(w, detail.Evidence, e.Wide)
}

// printEvidenceTable prints evidence rows, one per line: the gate and its
// outcome first, the summary last, where a narrow terminal cuts it; --wide
// adds the command and gives commits and times in full.
func printEvidenceTable(w io.Writer, evs []db.Evidence, wide bool) error {
	header := []string{"Gate", "Result", "ID", "Commit", "At", "Summary"}
	if wide {
		header = append(header, "Command")
	}
	rows := make([][]string, len(evs))
	for i, ev := range evs {
		rows[i] = []string{string(ev.Gate), passFail(ev.Passed), fmt.Sprint(ev.ID), commitCell(ev, wide), timeCell(ev.CreatedAt, wide), orDash(ev.Summary)}
		if wide {
			rows[i] = append(rows[i], ev.Command)
		}
	}
	return textout.Print(w, textout.Table{Header: header, Rows: rows, Keep: []int{0, 1, 2, 3, 4}})
}

// commitCell is the evidence's commit as git describe marks it: short, and
// "-dirty" when the tree had changes.
func commitCell(ev db.Evidence, wide bool) string {
	commit := ev.GitCommit
	if !wide {
		commit = shortCommit(commit)
	}
	if commit == "" {
		commit = "-"
	}
	if ev.TreeDirty {
		commit += "-dirty"
	}
	return commit
}

// timeCell shows a stored RFC 3339 time to the minute, in UTC as stored;
// --wide shows it as stored.
func timeCell(at string, wide bool) string {
	t, err := time.Parse(time.RFC3339, at)
	if wide || err != nil {
		return at
	}
	return t.UTC().Format("2006-01-02 15:04")
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
