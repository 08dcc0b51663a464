package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func newCatalogCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "catalog",
		Short:   "Work with catalog directories",
		Example: "  porttrack catalog diff catalog /tmp/rebuilt",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("catalog needs a subcommand; run 'porttrack catalog --help'")
		},
	}
	cmd.AddCommand(newCatalogDiffCmd(e))
	return cmd
}

type catalogDiffOptions struct {
	Want, Got string
	// ExtraCallsOK accepts calls in Got that Want lacks, for an import
	// that resolves more calls than the catalog's rules.
	ExtraCallsOK bool
	// Limit caps the differences listed per kind.
	Limit int
}

func newCatalogDiffCmd(e *env) *cobra.Command {
	opts := &catalogDiffOptions{}
	cmd := &cobra.Command{
		Use:   "diff WANT_DIR GOT_DIR",
		Short: "Compare the items and calls of two catalogs, such as catalog/ and one rebuilt by import go",
		Long: `Compare two catalog directories item by item (kind, ID, file, symbol and
line span) and call by call. Batches and slices are the plan's, not the
source's, and are not compared. Exits 1 when they differ.`,
		Example: `  porttrack catalog diff catalog /tmp/rebuilt
  porttrack catalog diff catalog /tmp/rebuilt --extra-calls-ok --limit 0`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Want, opts.Got = args[0], args[1]
			return runCatalogDiff(e, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ExtraCallsOK, "extra-calls-ok", false, "calls only GOT_DIR has are listed but are no difference")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "list at most this many differences of each kind (0: all)")
	return cmd
}

type catalogKey struct {
	kind db.ItemKind
	id   int
}

func runCatalogDiff(e *env, opts *catalogDiffOptions) error {
	want, err := db.ReadCatalog(opts.Want)
	if err != nil {
		return err
	}
	got, err := db.ReadCatalog(opts.Got)
	if err != nil {
		return err
	}
	w := e.Out
	index := func(c *db.Catalog) map[catalogKey]db.Item {
		m := map[catalogKey]db.Item{}
		for _, it := range c.Items {
			m[catalogKey{it.Kind, it.ID}] = it
		}
		return m
	}
	wantItems, gotItems := index(want), index(got)
	var missing, extra, changed []string
	matching := 0
	for _, it := range want.Items {
		g, ok := gotItems[catalogKey{it.Kind, it.ID}]
		switch {
		case !ok:
			missing = append(missing, "- "+describeItem(it))
		case g.GoFile != it.GoFile || g.GoSymbol != it.GoSymbol || g.GoLineStart != it.GoLineStart || g.GoLineEnd != it.GoLineEnd:
			changed = append(changed, fmt.Sprintf("~ %s, imported as %s:%d-%d %s", describeItem(it), g.GoFile, g.GoLineStart, g.GoLineEnd, g.GoSymbol))
		default:
			matching++
		}
	}
	for _, it := range got.Items {
		if _, ok := wantItems[catalogKey{it.Kind, it.ID}]; !ok {
			extra = append(extra, "+ "+describeItem(it))
		}
	}
	fmt.Fprintf(w, "items: %d in %s, %d in %s: %d match (kind, ID, file, symbol, lines)", len(want.Items), opts.Want, len(got.Items), opts.Got, matching)
	fmt.Fprintf(w, ", %d missing, %d extra, %d different\n", len(missing), len(extra), len(changed))
	for _, list := range [][]string{missing, extra, changed} {
		printLimited(w, list, opts.Limit)
	}

	symbol := func(id int) string {
		if it, ok := gotItems[catalogKey{db.KindFeature, id}]; ok {
			return it.GoSymbol
		}
		return wantItems[catalogKey{db.KindFeature, id}].GoSymbol
	}
	describeCall := func(sign string, c [2]int) string {
		return fmt.Sprintf("%s %d %s -> %d %s", sign, c[0], symbol(c[0]), c[1], symbol(c[1]))
	}
	gotCalls := map[[2]int]bool{}
	for _, c := range got.Calls {
		gotCalls[c] = true
	}
	wantCalls := map[[2]int]bool{}
	var missingCalls, extraCalls []string
	for _, c := range want.Calls {
		wantCalls[c] = true
		if !gotCalls[c] {
			missingCalls = append(missingCalls, describeCall("-", c))
		}
	}
	for _, c := range got.Calls {
		if !wantCalls[c] {
			extraCalls = append(extraCalls, describeCall("+", c))
		}
	}
	slices.Sort(missingCalls)
	slices.Sort(extraCalls)
	fmt.Fprintf(w, "calls: %d in %s, %d in %s: %d match, %d missing, %d extra\n", len(want.Calls), opts.Want, len(got.Calls), opts.Got,
		len(want.Calls)-len(missingCalls), len(missingCalls), len(extraCalls))
	printLimited(w, missingCalls, opts.Limit)
	printLimited(w, extraCalls, opts.Limit)

	differences := len(missing) + len(extra) + len(changed) + len(missingCalls)
	if !opts.ExtraCallsOK {
		differences += len(extraCalls)
	}
	if differences > 0 {
		return &db.RefusedError{Violations: []db.Violation{{Rule: "catalog-diff", Detail: fmt.Sprintf("%s and %s differ in %d items and calls", opts.Want, opts.Got, differences)}}}
	}
	return nil
}

func describeItem(it db.Item) string {
	return fmt.Sprintf("%s %d %s:%d-%d %s", it.Kind, it.ID, it.GoFile, it.GoLineStart, it.GoLineEnd, it.GoSymbol)
}

func printLimited(w io.Writer, lines []string, limit int) {
	for i, l := range lines {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "  ... and %d more\n", len(lines)-limit)
			return
		}
		fmt.Fprintln(w, "  "+l)
	}
}
