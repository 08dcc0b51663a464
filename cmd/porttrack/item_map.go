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
)

type itemMapOptions struct {
	Kind   db.ItemKind
	ID     int
	File   string
	Symbol string
	// Auto is a directory to scan instead of naming one item's target.
	Auto  string
	Batch int
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
		Args: cobra.MaximumNArgs(1),
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
	return cmd
}

func runItemMap(ctx context.Context, e *env, opts *itemMapOptions) error {
	if opts.Auto != "" {
		if opts.ID != 0 || opts.File != "" || opts.Symbol != "" {
			return usagef("map --auto takes no ID, --file or --symbol")
		}
		return runAutoMap(ctx, e, opts)
	}
	if opts.ID == 0 || opts.File == "" || opts.Symbol == "" {
		return usagef("map needs ID --file F --symbol S, or --auto DIR")
	}
	if opts.Batch != 0 {
		return usagef("--batch only applies with --auto")
	}
	key, err := symbolKey(opts.Symbol)
	if err != nil {
		return err
	}
	rel, err := repoRelative(e.Root, opts.File)
	if err != nil {
		return err
	}
	isTestFile := strings.HasSuffix(rel, "_test.go")
	if opts.Kind == db.KindTest && !isTestFile {
		return usagef("test targets belong in _test.go files, not %s", rel)
	}
	if opts.Kind == db.KindFeature && isTestFile {
		return usagef("feature targets belong in non-test .go files, not %s", rel)
	}
	defs, err := fileSymbols(token.NewFileSet(), filepath.Join(e.Root, filepath.FromSlash(rel)))
	if err != nil {
		return usagef("read %s: %v", opts.File, err)
	}
	notation := ""
	for _, def := range defs {
		if k, err := symbolKey(def); err == nil && k == key {
			notation = def
		}
	}
	if notation == "" {
		return usagef("symbol %s is not defined in %s", opts.Symbol, rel)
	}
	return withWrite(ctx, e, func(d *db.DB) error {
		if err := d.SetTarget(ctx, opts.Kind, opts.ID, rel, notation); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.Out, "Mapped %s %d to %s %s\n", opts.Kind, opts.ID, rel, notation)
		return err
	})
}

func runAutoMap(ctx context.Context, e *env, opts *itemMapOptions) error {
	if info, err := os.Stat(opts.Auto); err != nil || !info.IsDir() {
		return usagef("--auto %s is not a directory", opts.Auto)
	}
	index, err := scanSymbols(e.Root, opts.Auto, opts.Kind == db.KindTest)
	if err != nil {
		return err
	}
	return withWrite(ctx, e, func(d *db.DB) error {
		if opts.Batch != 0 {
			if _, err := d.Batch(ctx, opts.Batch); err != nil {
				return err
			}
		}
		items, err := d.Items(ctx, opts.Kind, db.ItemFilter{BatchID: opts.Batch})
		if err != nil {
			return err
		}
		var targets []db.Target
		var missing, ambiguous [][]string
		for _, it := range items {
			key, err := symbolKey(it.GoSymbol)
			if err != nil {
				return err
			}
			defs := index[key]
			switch len(defs) {
			case 0:
				missing = append(missing, []string{fmt.Sprint(it.ID), it.GoSymbol})
			case 1:
				targets = append(targets, db.Target{ID: it.ID, File: defs[0].File, Symbol: defs[0].Notation})
			default:
				var files []string
				for _, def := range defs {
					files = append(files, def.File)
				}
				slices.Sort(files)
				ambiguous = append(ambiguous, []string{fmt.Sprint(it.ID), it.GoSymbol, strings.Join(files, ", ")})
			}
		}
		if err := d.SetTargets(ctx, opts.Kind, targets); err != nil {
			return err
		}
		fmt.Fprintf(e.Out, "Mapped %d of %d %s from %s\n", len(targets), len(items), opts.Kind.Plural(), opts.Auto)
		if len(ambiguous) > 0 {
			fmt.Fprintf(e.Out, "\nDefined more than once, not mapped (%d):\n", len(ambiguous))
			if err := renderTable(e.Out, []string{"ID", "Symbol", "Files"}, ambiguous); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(e.Out, "\nNot found in %s, not mapped (%d):\n", opts.Auto, len(missing))
			return renderTable(e.Out, []string{"ID", "Symbol"}, missing)
		}
		return nil
	})
}
