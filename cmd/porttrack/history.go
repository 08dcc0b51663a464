package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type historyOptions struct {
	ID      int
	Feature bool
	Test    bool
	Batch   bool
	JSON    bool
}

func newHistoryCmd(e *env) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show the status-change log of a feature or test (--feature, --test when the ID is both; --batch for a batch) and the evidence behind each change",
		Args:  cobra.ExactArgs(1),
		RunE: runWithID(&opts.ID, func(ctx context.Context) error {
			return runHistory(ctx, e, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.Feature, "feature", false, "ID is a feature")
	cmd.Flags().BoolVar(&opts.Test, "test", false, "ID is a test")
	cmd.Flags().BoolVar(&opts.Batch, "batch", false, "ID is a batch")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runHistory(ctx context.Context, e *env, opts *historyOptions) error {
	var kind db.ItemKind
	for _, k := range []struct {
		set  bool
		kind db.ItemKind
	}{{opts.Feature, db.KindFeature}, {opts.Test, db.KindTest}, {opts.Batch, db.KindBatch}} {
		if k.set && kind != "" {
			return usagef("history takes one of --feature, --test and --batch")
		}
		if k.set {
			kind = k.kind
		}
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	if kind == "" {
		if kind, err = itemKindOf(ctx, d, opts.ID); err != nil {
			return err
		}
	}
	var title string
	if kind == db.KindBatch {
		b, err := d.Batch(ctx, opts.ID)
		if err != nil {
			return err
		}
		title = fmt.Sprintf("batch %d: %s, now %s", b.ID, b.Name, b.Status)
	} else {
		it, err := d.Item(ctx, kind, opts.ID)
		if err != nil {
			return err
		}
		title = fmt.Sprintf("%s %d: %s, now %s", kind, it.ID, it.GoSymbol, it.Status)
	}
	log, err := d.History(ctx, kind, opts.ID)
	if err != nil {
		return err
	}
	changes := make([]historyEntry, len(log))
	for i, l := range log {
		changes[i] = historyEntry{LogEntry: l, Evidence: []db.Evidence{}}
		if l.EvidenceID == nil {
			continue
		}
		behind, err := d.EvidenceBehind(ctx, kind, opts.ID, *l.EvidenceID)
		if err != nil {
			return fmt.Errorf("history of %s %d, change at %s: %w", kind, opts.ID, l.At, err)
		}
		changes[i].Evidence = behind
	}
	if opts.JSON {
		return writeJSON(e.Out, changes)
	}
	fmt.Fprintln(e.Out, title)
	rows := make([][]string, len(log))
	for i, l := range log {
		ev := "-"
		if l.EvidenceID != nil {
			ev = fmt.Sprint(*l.EvidenceID)
		}
		rows[i] = []string{l.At, orDash(l.From), l.To, l.Actor, l.Reason, ev}
	}
	if err := renderTable(e.Out, []string{"At", "From", "To", "Actor", "Reason", "Evidence"}, rows); err != nil {
		return err
	}
	for _, c := range changes {
		if len(c.Evidence) == 0 {
			continue
		}
		fmt.Fprintf(e.Out, "\nEvidence behind %s → %s at %s:\n", orDash(c.From), c.To, c.At)
		for _, ev := range c.Evidence {
			fmt.Fprintf(e.Out, "  %-10s %s  #%-5d %-7s %-5s %-9s %s — %s\n", ev.Gate, passFail(ev.Passed), ev.ID,
				orDash(shortCommit(ev.GitCommit)), dirtyFlag(ev.TreeDirty), orDash(ev.GoVersion), ev.Command, orDash(ev.Summary))
		}
	}
	return nil
}

// historyEntry is a status change with the evidence rows it rested on, so a
// reader can audit a promotion without looking the evidence up by ID.
type historyEntry struct {
	db.LogEntry
	Evidence []db.Evidence `json:"evidence"`
}

// shortCommit abbreviates a commit hash the way git log --oneline does.
func shortCommit(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

func dirtyFlag(dirty bool) string {
	if dirty {
		return "dirty"
	}
	return "clean"
}

// itemKindOf tells which number space an ID names when the user did not
// say: features and tests are numbered apart, so an ID in both is asked
// about rather than guessed.
func itemKindOf(ctx context.Context, d *db.DB, id int) (db.ItemKind, error) {
	f, fErr := d.Item(ctx, db.KindFeature, id)
	t, tErr := d.Item(ctx, db.KindTest, id)
	var unknown *db.BadInputError
	for _, err := range []error{fErr, tErr} {
		if err != nil && !errors.As(err, &unknown) {
			return "", err
		}
	}
	switch {
	case fErr == nil && tErr == nil:
		return "", usagef("%d is both feature %d %s and test %d %s; say --feature or --test", id, id, f.GoSymbol, id, t.GoSymbol)
	case fErr == nil:
		return db.KindFeature, nil
	case tErr == nil:
		return db.KindTest, nil
	}
	return "", &db.BadInputError{Msg: fmt.Sprintf("no feature or test has ID %d", id)}
}
