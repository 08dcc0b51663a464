package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/goimport"
)

func newImportCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Add a batch and its items to the plan from source code",
		Example: `  porttrack import go --dir ../nats-server/server --files 'jetstream_cluster*.go' --batch 32
  porttrack import go --dir ~/src/app --per-file --batch 1 --db new.db`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("import needs a source language; run 'porttrack import go --help'")
		},
	}
	cmd.AddCommand(newImportGoCmd(e))
	return cmd
}

type importGoOptions struct {
	Dir       string
	Files     []string
	Batch     int
	Name      string
	DependsOn string
	PerFile   bool
	// FirstFeatureID and FirstTestID are 0 for "one past the highest ID
	// already listed".
	FirstFeatureID, FirstTestID int
	Prefix                      string
	PrefixSet                   bool
	Calls                       string
	// Into is a catalog directory to write instead of the database.
	Into string
	// DBSet tells an explicit --db apart from the default.
	DBSet bool
	JSON  bool
}

func newImportGoCmd(e *env) *cobra.Command {
	opts := &importGoOptions{}
	cmd := &cobra.Command{
		Use:   "go --dir DIR --batch N --name NAME [--files GLOB,...] [--depends-on M,...] [--into CATALOG_DIR | --db PATH]",
		Short: "Import the functions and tests of a Go source tree as a batch",
		Long: `Read the Go files under DIR with go/parser and go/types and add one batch
(or, with --per-file, one batch per file) holding every function and method
of the selected non-test files as a feature and every Test function of the
selected _test.go files as a test, with file and line span, and the call
graph between the features (see catalog/README.md for what is followed).

IDs are assigned in file order (files sorted by path, functions in source
order), features and tests each from their first ID up: by default one past
the highest ID of that kind already listed. The same tree and options give
the same IDs.

With --into DIR the batch is added to the catalog in DIR (created if
missing); otherwise to the database (--db). Nothing already listed changes.
Refused, writing nothing, when a batch, an ID or a symbol is already taken,
or when the resulting plan cannot finish (a dependency cycle, an unknown
dependency).`,
		Example: `  porttrack import go --dir ../nats-server/server --files jetstream_cluster.go --batch 32
  porttrack import go --dir ~/src/app --files 'store/*' --batch 1 --name store --db new.db
  porttrack import go --dir ~/src/app --files 'api/*' --batch 2 --name api --depends-on 1 --into catalog
  porttrack import go --dir "$(go list -m -f '{{.Dir}}' github.com/nats-io/nats-server/v2)/server" --files '*.go' --per-file --batch 1 --db /tmp/nats.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.DBSet = cmd.Flags().Changed("db")
			opts.PrefixSet = cmd.Flags().Changed("prefix")
			return runImportGo(cmd.Context(), e, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", "", "the Go source tree to read (required)")
	f.StringSliceVar(&opts.Files, "files", nil, "only items of files matching these globs, relative to --dir (default: every .go file under it)")
	f.IntVar(&opts.Batch, "batch", 0, "the batch ID (required); with --per-file the first of them")
	f.StringVar(&opts.Name, "name", "", "the batch's name (required unless --per-file or the batch is declared already)")
	f.StringVar(&opts.DependsOn, "depends-on", "", "batches the new batches depend on, e.g. 30,31")
	f.BoolVar(&opts.PerFile, "per-file", false, "one batch per file; a x_test.go joins the batch of x.go")
	f.IntVar(&opts.FirstFeatureID, "first-feature-id", 0, "ID of the first feature (default: one past the highest feature ID)")
	f.IntVar(&opts.FirstTestID, "first-test-id", 0, "ID of the first test (default: one past the highest test ID)")
	f.StringVar(&opts.Prefix, "prefix", "", "start of every file name in the catalog (default: DIR's path inside its module, e.g. server/)")
	f.StringVar(&opts.Calls, "calls", "types", "how calls are resolved: types (the catalog's rules and the type checker) or rules (the catalog's rules only)")
	f.StringVar(&opts.Into, "into", "", "add to the catalog in this directory instead of the database")
	f.BoolVar(&opts.JSON, "json", false, "print what was imported as JSON")
	return cmd
}

func runImportGo(ctx context.Context, e *env, opts *importGoOptions) error {
	var deps []int
	switch {
	case opts.Dir == "":
		return usagef("import go needs --dir DIR")
	case opts.Batch <= 0:
		return usagef("import go needs --batch N (a positive batch ID)")
	case opts.Calls != "types" && opts.Calls != "rules":
		return usagef("--calls is types or rules, not %q", opts.Calls)
	case opts.Into != "" && opts.DBSet:
		return usagef("import go writes either --into a catalog or to --db, not both")
	case opts.FirstFeatureID < 0 || opts.FirstTestID < 0:
		return usagef("first IDs are positive")
	}
	if opts.DependsOn != "" {
		var err error
		if deps, err = parseIDList(opts.DependsOn); err != nil {
			return err
		}
	}
	relaxGC()
	tree, err := goimport.Read(opts.Dir, goimport.Options{Files: opts.Files, SyntaxOnly: opts.Calls == "rules"})
	if err != nil {
		return &db.BadInputError{Msg: fmt.Sprintf("import go: %v", err)}
	}
	var base *db.Catalog
	newDB := false
	switch {
	case opts.Into != "":
		base, err = readCatalogIfAny(opts.Into)
	case opts.DBSet && !exists(e.DBPath):
		// An explicit --db naming no file starts a new database, as init
		// would from a catalog holding only this import.
		base, newDB = &db.Catalog{}, true
	default:
		base, err = loadPlan(ctx, e)
	}
	if err != nil {
		return err
	}
	plan := goimport.Plan{Batch: opts.Batch, Name: opts.Name, DependsOn: deps, PerFile: opts.PerFile,
		FirstFeatureID: opts.FirstFeatureID, FirstTestID: opts.FirstTestID, Prefix: tree.Prefix, Existing: map[[2]string]int{}}
	if opts.PrefixSet {
		plan.Prefix = opts.Prefix
	}
	if plan.FirstFeatureID == 0 {
		plan.FirstFeatureID = nextFreeID(base, db.KindFeature)
	}
	if plan.FirstTestID == 0 {
		plan.FirstTestID = nextFreeID(base, db.KindTest)
	}
	for _, it := range base.Items {
		if it.Kind == db.KindFeature {
			plan.Existing[[2]string{it.GoFile, it.GoSymbol}] = it.ID
		}
	}
	add, typesOnly := tree.Catalog(plan)
	if len(add.Items) == 0 {
		return &db.BadInputError{Msg: fmt.Sprintf("import go: the selected files under %s hold no function and no Test function", opts.Dir)}
	}
	adoptDeclared(add, base, opts)
	if !opts.PerFile && add.Batches[0].Name == "" && !declares(base, opts.Batch) {
		return usagef("import go needs --name NAME for the new batch %d", opts.Batch)
	}
	target := e.DBPath
	switch {
	case opts.Into != "":
		merged, err := db.MergeCatalog(base, add)
		if err != nil {
			return err
		}
		if err := db.WriteCatalog(opts.Into, merged); err != nil {
			return err
		}
		target = opts.Into
	case newDB:
		if err := createDB(ctx, e, add); err != nil {
			return err
		}
	default:
		if err := withWrite(ctx, e, func(d *db.DB) error {
			return d.AddCatalog(ctx, add, e.Actor, importSource)
		}); err != nil {
			return err
		}
	}
	return printImport(e, opts.JSON, target, base, add, typesOnly)
}

// relaxGC lets an import, a short job whose heap only grows (about 200 MB
// for the NATS server's 430,000 lines), run without collections until
// its heap reaches 1 GiB: the collector would otherwise take a third of
// its time. GOGC or GOMEMLIMIT in the environment take precedence.
func relaxGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(1 << 30)
	}
}

// importSource is the reason of the first status_log row of each imported
// item and batch.
const importSource = "imported from Go source by porttrack import go"

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readCatalogIfAny reads the catalog in dir, or returns an empty one when
// dir holds none yet.
func readCatalogIfAny(dir string) (*db.Catalog, error) {
	if _, err := os.Stat(filepath.Join(dir, "batches.tsv")); errors.Is(err, fs.ErrNotExist) {
		return &db.Catalog{}, nil
	}
	return db.ReadCatalog(dir)
}

func loadPlan(ctx context.Context, e *env) (*db.Catalog, error) {
	d, err := openDB(ctx, e)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Catalog(ctx)
}

func nextFreeID(c *db.Catalog, kind db.ItemKind) int {
	next := 1
	for _, it := range c.Items {
		if it.Kind == kind && it.ID >= next {
			next = it.ID + 1
		}
	}
	return next
}

func declares(c *db.Catalog, batch int) bool {
	for _, b := range c.Batches {
		if b.ID == batch {
			return true
		}
	}
	return false
}

// adoptDeclared lets the import fill a batch declared ahead of its items:
// the name and dependencies the user left out are the declared ones.
func adoptDeclared(add, base *db.Catalog, opts *importGoOptions) {
	for i := range add.Batches {
		if !declares(base, add.Batches[i].ID) {
			continue
		}
		if opts.Name == "" {
			add.Batches[i].Name = ""
		}
		if opts.DependsOn == "" {
			add.Batches[i].DependsOn = nil
		}
	}
}

// importResult is what import go added; IDs are assigned in one run each.
type importResult struct {
	Into     string `json:"into"`
	Batches  []int  `json:"batches"`
	Features idSpan `json:"features"`
	Tests    idSpan `json:"tests"`
	Calls    int    `json:"calls"`
	ByTypes  int    `json:"calls_through_types_only"`
}

type idSpan struct {
	Count int `json:"count"`
	First int `json:"first"`
	Last  int `json:"last"`
}

func (s *idSpan) add(id int) {
	if s.Count == 0 || id < s.First {
		s.First = id
	}
	s.Last = max(s.Last, id)
	s.Count++
}

func (s idSpan) String() string {
	switch s.Count {
	case 0:
		return "0"
	case 1:
		return fmt.Sprintf("1 (%d)", s.First)
	}
	return fmt.Sprintf("%d (%d-%d)", s.Count, s.First, s.Last)
}

func printImport(e *env, asJSON bool, target string, base, add *db.Catalog, typesOnly int) error {
	r := importResult{Into: target, Calls: len(add.Calls), ByTypes: typesOnly}
	for _, it := range add.Items {
		if it.Kind == db.KindFeature {
			r.Features.add(it.ID)
		} else {
			r.Tests.add(it.ID)
		}
	}
	for _, b := range add.Batches {
		r.Batches = append(r.Batches, b.ID)
	}
	if asJSON {
		return writeJSON(e.Out, r)
	}
	name := add.Batches[0].Name
	for _, b := range base.Batches {
		if b.ID == add.Batches[0].ID && name == "" {
			name = b.Name + " (declared before, now with its items)"
		}
	}
	what := fmt.Sprintf("batch %d %s", add.Batches[0].ID, name)
	if len(add.Batches) > 1 {
		what = fmt.Sprintf("%d batches %s", len(add.Batches), db.FormatIDRanges(r.Batches))
	}
	fmt.Fprintf(e.Out, "Imported into %s: %s\n", target, strings.TrimSpace(what))
	fmt.Fprintf(e.Out, "  features %s, tests %s\n", r.Features, r.Tests)
	_, err := fmt.Fprintf(e.Out, "  %d calls: %d by the catalog's rules, %d more resolved through types\n",
		len(add.Calls), len(add.Calls)-typesOnly, typesOnly)
	return err
}
