package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// importFixture is a Go module of the project's own: packages api and
// store, 15 features, 3 tests, 13 calls (see internal/goimport's tests).
const importFixture = "../../internal/goimport/testdata/tree"

func TestImportGoIntoNewDatabase(t *testing.T) {
	dir := t.TempDir()
	e := &env{Out: &strings.Builder{}, Err: &strings.Builder{}, DBPath: filepath.Join(dir, "porting.db"), Actor: "importer", Root: dir}
	ctx := context.Background()
	err := runImportGo(ctx, e, &importGoOptions{Dir: importFixture, Files: []string{"store/*"}, Batch: 1, Name: "store", Calls: "types", DBSet: true})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, e.Out.(*strings.Builder).String(), "Imported into "+e.DBPath+": batch 1 store",
		"features 12 (1-12), tests 2 (1-2)", "9 calls: 9 by the catalog's rules, 0 more resolved through types")

	// api depends on store; its calls into store link to the listed features.
	e.Out = &strings.Builder{}
	err = runImportGo(ctx, e, &importGoOptions{Dir: importFixture, Files: []string{"api/*"}, Batch: 2, Name: "api", DependsOn: "1", Calls: "types", JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var r importResult
	if err := json.Unmarshal([]byte(e.Out.(*strings.Builder).String()), &r); err != nil {
		t.Fatal(err)
	}
	if r.Features != (idSpan{Count: 3, First: 13, Last: 15}) || r.Tests != (idSpan{Count: 1, First: 3, Last: 3}) || r.Calls != 4 || r.ByTypes != 3 || r.Batches[0] != 2 {
		t.Fatalf("import of api: %+v", r)
	}
	d, err := db.Open(ctx, e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	callees, err := d.Callees(ctx, 14)
	if err != nil || len(callees) != 1 || callees[0].GoSymbol != "(*Store).Get" || callees[0].GoFile != "store/store.go" {
		t.Fatalf("callees of (*Server).Lookup = %+v, %v", callees, err)
	}
	b, err := d.Batch(ctx, 2)
	if err != nil || len(b.DependsOn) != 1 || b.DependsOn[0] != 1 || b.Status != db.BatchPending || b.GoFile != "api/api.go" {
		t.Fatalf("batch 2 = %+v, %v", b, err)
	}
	log, err := d.History(ctx, db.KindTest, 3)
	if err != nil || len(log) != 1 || log[0].Actor != "importer" || log[0].Reason != db.InitialReason {
		t.Fatalf("history of test 3 = %+v, %v", log, err)
	}
}

func TestImportGoRefusals(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	imp := func(opts importGoOptions) error {
		if opts.Calls == "" {
			opts.Calls = "types"
		}
		if opts.Dir == "" {
			opts.Dir = importFixture
		}
		return runImportGo(ctx, te.env, &opts)
	}
	if err := imp(importGoOptions{Batch: 3, Name: "tree"}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, te.DBPath)
	for _, tc := range []struct {
		opts importGoOptions
		want string
	}{
		{importGoOptions{Batch: 4, Name: "again"}, "refused by rule import-symbol: 18 symbols are already listed (api/api.go NewServer is feature 21"},
		{importGoOptions{Batch: 4, Name: "again", Files: []string{"store/*"}, FirstFeatureID: 20, FirstTestID: 100, Prefix: "copy/", PrefixSet: true},
			"refused by rule import-ids: feature IDs 20-31 would collide with features already listed: 20-31"},
		{importGoOptions{Batch: 1, Name: "One", Prefix: "copy/", PrefixSet: true}, "refused by rule import-batch: batch 1 One already has"},
		{importGoOptions{Batch: 4, Name: "x", DependsOn: "9", Prefix: "copy/", PrefixSet: true}, "refused by rule plan-dependency: batch 4 depends on batch 9"},
		{importGoOptions{Batch: 4, Name: "x", DependsOn: "4", Prefix: "copy/", PrefixSet: true}, "refused by rule plan-dependency: batch 4 depends on itself"},
	} {
		var refused *db.RefusedError
		err := imp(tc.opts)
		if !errors.As(err, &refused) || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("import %+v: %v\nwant one line starting %q", tc.opts, err, tc.want)
		}
	}
	var ue *usageError
	for _, opts := range []importGoOptions{{Batch: 0, Name: "x"}, {Dir: importFixture, Batch: 4, Calls: "fast"}, {Batch: 5}, {Batch: 4, Name: "x", Into: "c", DBSet: true}} {
		if err := imp(opts); !errors.As(err, &ue) {
			t.Errorf("import %+v: %v, want a usage error", opts, err)
		}
	}
	var bad *db.BadInputError
	if err := imp(importGoOptions{Dir: filepath.Join(te.Root, "missing"), Batch: 4, Name: "x"}); !errors.As(err, &bad) {
		t.Errorf("import of a missing directory: %v, want bad input", err)
	}
	if dump(t, te.DBPath) != before {
		t.Fatal("a refused import wrote to the database")
	}
}

func TestImportGoIntoCatalogThenInit(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog")
	e := &env{Out: &strings.Builder{}, Err: &strings.Builder{}, DBPath: filepath.Join(dir, "porting.db"), Actor: "importer", Root: dir}
	ctx := context.Background()
	for _, opts := range []*importGoOptions{
		{Dir: importFixture, Files: []string{"store/*"}, Batch: 10, Name: "store", Calls: "rules", Into: cat},
		{Dir: importFixture, Files: []string{"api/*"}, Batch: 11, Name: "api", DependsOn: "10", Calls: "rules", Into: cat},
	} {
		if err := runImportGo(ctx, e, opts); err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.ReadCatalog(cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Batches) != 2 || len(c.Items) != 18 || len(c.Calls) != 10 {
		t.Fatalf("catalog: %d batches, %d items, %d calls", len(c.Batches), len(c.Items), len(c.Calls))
	}
	if err := runInit(ctx, e, &initOptions{CatalogDir: cat}); err != nil {
		t.Fatal(err)
	}
	e.Out = &strings.Builder{}
	if err := runNext(ctx, e, &nextOptions{JSON: true}); err != nil {
		t.Fatal(err)
	}
	var plan db.NextPlan
	if err := json.Unmarshal([]byte(e.Out.(*strings.Builder).String()), &plan); err != nil {
		t.Fatal(err)
	}
	// store can start; api waits for it.
	if plan.Total != 14 || len(plan.BlockedBatches) != 1 || plan.BlockedBatches[0].ID != 11 || plan.Next[0].Symbol != "New" {
		t.Fatalf("next after init: %+v", plan)
	}
}

func TestInitRefusesPlanThatCannotFinish(t *testing.T) {
	dir := t.TempDir()
	e := &env{Out: &strings.Builder{}, Err: &strings.Builder{}, DBPath: filepath.Join(dir, "porting.db"), Actor: "tester", Root: dir}
	cycle := map[string]string{}
	for k, v := range tinyCatalog {
		cycle[k] = v
	}
	cycle["batches.tsv"] = strings.Replace(cycle["batches.tsv"], "1\tOne\tserver/raft.go\t\tpending", "1\tOne\tserver/raft.go\t2\tpending", 1)
	err := runInit(context.Background(), e, &initOptions{CatalogDir: writeCatalog(t, cycle)})
	if err == nil || err.Error() != "refused by rule plan-cycle: batches depend on each other in a cycle (1 -> 2 -> 1), so none of them can start: 1,2" {
		t.Fatalf("init of a cyclic plan: %v", err)
	}
	if _, err := os.Stat(e.DBPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused init left %s behind", e.DBPath)
	}
}

func TestCatalogDiff(t *testing.T) {
	want := writeCatalog(t, tinyCatalog)
	changed := map[string]string{}
	for k, v := range tinyCatalog {
		changed[k] = v
	}
	changed["catalog.tsv"] = strings.Replace(changed["catalog.tsv"], "(*raft).vote\t6\t9", "(*raft).vote\t6\t10", 1)
	changed["calls.tsv"] += "10\t20\n"
	got := writeCatalog(t, changed)
	var out strings.Builder
	e := &env{Out: &out, Err: &out}
	if err := runCatalogDiff(e, &catalogDiffOptions{Want: want, Got: want}); err != nil {
		t.Fatalf("a catalog differs from itself: %v\n%s", err, out.String())
	}
	out.Reset()
	err := runCatalogDiff(e, &catalogDiffOptions{Want: want, Got: got})
	var refused *db.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("diff of different catalogs: %v", err)
	}
	mustContain(t, out.String(), "4 match (kind, ID, file, symbol, lines), 0 missing, 0 extra, 1 different",
		"~ feature 11 server/raft.go:6-9 (*raft).vote, imported as server/raft.go:6-10 (*raft).vote",
		"2 match, 0 missing, 1 extra", "+ 10 (RaftState).String -> 20 decodePeerState")
	changed["catalog.tsv"] = tinyCatalog["catalog.tsv"]
	if err := runCatalogDiff(e, &catalogDiffOptions{Want: want, Got: writeCatalog(t, changed), ExtraCallsOK: true}); err != nil {
		t.Fatalf("only extra calls, allowed: %v", err)
	}
}
