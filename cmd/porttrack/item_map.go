package main

import (
	"context"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

type itemMapOptions struct {
	Kind   db.ItemKind
	ID     int
	File   string
	Symbol string
	// Auto is a directory to scan instead of naming one item's target.
	Auto  string
	Batch int
	JSON  bool
	// Reason is required when the target's name differs from the
	// reference symbol's.
	Reason string
}

// mapping is one item's new target, as --json prints it.
type mapping struct {
	Kind   db.ItemKind `json:"kind"`
	ID     int         `json:"id"`
	File   string      `json:"target_file"`
	Symbol string      `json:"target_symbol"`
}

// unmapped is an item map --auto left alone, with the files that define
// its symbol when there are several.
type unmapped struct {
	ID     int      `json:"id"`
	Symbol string   `json:"symbol"`
	Files  []string `json:"files,omitempty"`
}

func newItemMapCmd(e *env, kind db.ItemKind) *cobra.Command {
	opts := &itemMapOptions{Kind: kind}
	cmd := &cobra.Command{
		Use:   "map (ID --file F --symbol S | --auto DIR [--batch N])",
		Short: fmt.Sprintf("Record where %s live in this repository (not a status change)", kind.Plural()),
		Long: fmt.Sprintf(`Record where %s live in this repository. Mapping is not a status change.

With ID, --file and --symbol, sets one item's target; the symbol must be
defined in the file. With --auto DIR, scans DIR recursively with go/ast and
maps every item whose reference symbol (receiver type included) is defined
there, then lists the items it could not map.`, kind.Plural()),
		Example:           mapExample(kind),
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeItemIDs(e, kind),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				opts.ID = id
			}
			return runItemMap(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.File, "file", "", "target file, relative to the working directory")
	cmd.Flags().StringVar(&opts.Symbol, "symbol", "", "target symbol: Name, (Type).Name or (*Type).Name")
	cmd.Flags().StringVar(&opts.Auto, "auto", "", "map every item defined in this directory tree")
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "with --auto, only map items of this batch")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why the target is named otherwise than the reference symbol (required then)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print what was mapped and what was not, as JSON")
	cmd.MarkFlagFilename("file", "go")
	cmd.MarkFlagDirname("auto")
	return cmd
}

func mapExample(kind db.ItemKind) string {
	if kind == db.KindTest {
		return "  porttrack --db /tmp/tour.db test map --auto raftport_test"
	}
	return `  porttrack --db /tmp/tour.db feature map 2751 --file raftport/append.go --symbol '(*raft).processAppendEntry'
  porttrack --db /tmp/tour.db feature map --auto raftport`
}

func runItemMap(ctx context.Context, e *env, opts *itemMapOptions) error {
	if opts.Auto != "" {
		return runAutoMap(ctx, e, opts)
	}
	m, err := mapOne(ctx, e, opts)
	var changes []mapping
	if err == nil {
		changes = []mapping{m}
	}
	return finishWrite(e.Out, opts.JSON, writeResult{Changes: changes}, err, func() error {
		_, err := fmt.Fprintf(e.Out, "Mapped %s %d to %s %s\n", m.Kind, m.ID, textout.Escape(m.File), m.Symbol)
		return err
	})
}

// mapOne checks and records one item's target.
func mapOne(ctx context.Context, e *env, opts *itemMapOptions) (mapping, error) {
	if opts.Auto != "" {
		return mapping{}, usagef("map --auto takes no ID, --file or --symbol")
	}
	if opts.ID == 0 || opts.File == "" || opts.Symbol == "" {
		return mapping{}, usagef("map needs ID --file F --symbol S, or --auto DIR")
	}
	if opts.Batch != 0 {
		return mapping{}, usagef("--batch only applies with --auto")
	}
	key, err := symbolKey(opts.Symbol)
	if err != nil {
		return mapping{}, err
	}
	rel, err := repoRelative(e.Root, opts.File)
	if err != nil {
		return mapping{}, err
	}
	isTestFile := strings.HasSuffix(rel, "_test.go")
	if opts.Kind == db.KindTest && !isTestFile {
		return mapping{}, usagef("test targets belong in _test.go files, not %s", rel)
	}
	if opts.Kind == db.KindFeature && isTestFile {
		return mapping{}, usagef("feature targets belong in non-test .go files, not %s", rel)
	}
	defs, err := fileSymbols(token.NewFileSet(), filepath.Join(e.Root, filepath.FromSlash(rel)))
	if err != nil {
		return mapping{}, usagef("read %s: %v", opts.File, err)
	}
	notation := ""
	for _, def := range defs {
		if k, err := symbolKey(def); err == nil && k == key {
			notation = def
		}
	}
	if notation == "" {
		return mapping{}, usagef("symbol %s is not defined in %s", opts.Symbol, rel)
	}
	m := mapping{Kind: opts.Kind, ID: opts.ID, File: rel, Symbol: notation}
	return m, withWrite(ctx, e, func(d *db.DB) error {
		it, err := d.Item(ctx, opts.Kind, opts.ID)
		if err != nil {
			return err
		}
		if ref, _ := symbolKey(it.GoSymbol); ref != key && strings.TrimSpace(opts.Reason) == "" {
			return &db.RefusedError{Violations: []db.Violation{{Rule: "map-reason",
				Detail: fmt.Sprintf("%s is not the reference symbol %s: say why with --reason", notation, it.GoSymbol), IDs: []int{opts.ID}}}}
		}
		return d.SetTargetWithReason(ctx, opts.Kind, opts.ID, rel, notation, strings.TrimSpace(opts.Reason))
	})
}

func runAutoMap(ctx context.Context, e *env, opts *itemMapOptions) error {
	r, err := autoMap(ctx, e, opts)
	mapped, missing, ambiguous := r.mapped, r.missing, r.ambiguous
	if err != nil {
		mapped = nil // the transaction that would have mapped them rolled back
	}
	res := writeResult{Changes: mapped, Details: map[string]any{"not_found": nonNilUnmapped(missing), "ambiguous": nonNilUnmapped(ambiguous)}}
	return finishWrite(e.Out, opts.JSON, res, err, func() error {
		fmt.Fprintf(e.Out, "Mapped %d of %d %s from %s\n", len(mapped), r.total, opts.Kind.Plural(), textout.Escape(opts.Auto))
		if len(ambiguous) > 0 {
			fmt.Fprintf(e.Out, "\nDefined more than once, not mapped (%d):\n", len(ambiguous))
			rows := make([][]string, len(ambiguous))
			for i, u := range ambiguous {
				rows[i] = []string{fmt.Sprint(u.ID), u.Symbol, strings.Join(u.Files, ", ")}
			}
			if err := renderTable(e.Out, []string{"ID", "Symbol", "Files"}, rows); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(e.Out, "\nNot found in %s, not mapped (%d):\n", textout.Escape(opts.Auto), len(missing))
			rows := make([][]string, len(missing))
			for i, u := range missing {
				rows[i] = []string{fmt.Sprint(u.ID), u.Symbol}
			}
			return renderTable(e.Out, []string{"ID", "Symbol"}, rows)
		}
		return nil
	})
}

// autoMapResult is what map --auto did: of total items, the ones mapped,
// the ones whose symbol is nowhere and the ones defined more than once.
type autoMapResult struct {
	total              int
	mapped             []mapping
	missing, ambiguous []unmapped
}

// autoMap maps every item of the kind (of --batch) defined under --auto.
func autoMap(ctx context.Context, e *env, opts *itemMapOptions) (autoMapResult, error) {
	var r autoMapResult
	if opts.ID != 0 || opts.File != "" || opts.Symbol != "" {
		return r, usagef("map --auto takes no ID, --file or --symbol")
	}
	if info, err := os.Stat(opts.Auto); err != nil || !info.IsDir() {
		return r, usagef("--auto %s is not a directory", opts.Auto)
	}
	index, err := scanSymbols(e.Root, opts.Auto, opts.Kind == db.KindTest)
	if err != nil {
		return r, err
	}
	err = withWrite(ctx, e, func(d *db.DB) error {
		if opts.Batch != 0 {
			if _, err := d.Batch(ctx, opts.Batch); err != nil {
				return err
			}
		}
		items, err := d.Items(ctx, opts.Kind, db.ItemFilter{BatchID: opts.Batch})
		if err != nil {
			return err
		}
		r.total = len(items)
		var targets []db.Target
		for _, it := range items {
			key, err := symbolKey(it.GoSymbol)
			if err != nil {
				return err
			}
			defs := index[key]
			switch len(defs) {
			case 0:
				r.missing = append(r.missing, unmapped{ID: it.ID, Symbol: it.GoSymbol})
			case 1:
				targets = append(targets, db.Target{ID: it.ID, File: defs[0].File, Symbol: defs[0].Notation})
				r.mapped = append(r.mapped, mapping{Kind: opts.Kind, ID: it.ID, File: defs[0].File, Symbol: defs[0].Notation})
			default:
				var files []string
				for _, def := range defs {
					files = append(files, def.File)
				}
				slices.Sort(files)
				r.ambiguous = append(r.ambiguous, unmapped{ID: it.ID, Symbol: it.GoSymbol, Files: files})
			}
		}
		return d.SetTargets(ctx, opts.Kind, targets)
	})
	return r, err
}

func nonNilUnmapped(u []unmapped) []unmapped {
	if u == nil {
		return []unmapped{}
	}
	return u
}
