package goimport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fixture = "testdata/tree"

func funcRows(tr *Tree) []string {
	var rows []string
	for _, f := range tr.Funcs {
		kind := "feature"
		if f.Test {
			kind = "test"
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %d-%d", kind, f.File, f.Symbol, f.Line, f.EndLine))
	}
	return rows
}

func callRows(tr *Tree) []string {
	var rows []string
	for _, c := range tr.Calls {
		how := ""
		if c.ByRules {
			how += "R"
		}
		if c.ByTypes {
			how += "T"
		}
		rows = append(rows, fmt.Sprintf("%s -> %s %s", tr.Funcs[c.Caller].Symbol, tr.Funcs[c.Callee].Symbol, how))
	}
	return rows
}

func TestReadFixtureTree(t *testing.T) {
	tr, err := Read(fixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantFuncs := []string{
		"feature api/api.go NewServer 11-13",
		"feature api/api.go (*Server).Lookup 16-18",
		"feature api/api.go (*Server).Len 20-24",
		"test api/api_test.go TestLookup 5-5",
		"feature store/store.go New 16-18",
		"feature store/store.go (*Store).Put 20-23",
		"feature store/store.go (*Store).Get 25-27",
		"feature store/store.go (*Store).note 29-33",
		"feature store/store.go normalize 35-37",
		"feature store/store.go (*Set).Add 43-45",
		"feature store/store.go (Set).Len 47-47",
		"feature store/store.go (*Store).Keys 51-61",
		"feature store/store.go apply 63-63",
		"feature store/store.go init 65-65",
		"feature store/store.go init#2 67-67",
		"feature store/store.go Reset 70-72",
		"test store/store_test.go TestPutGet 5-11",
		"test store/store_test.go TestSet 15-17",
	}
	if got := funcRows(tr); !slices.Equal(got, wantFuncs) {
		t.Errorf("funcs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFuncs, "\n"))
	}
	// R: the catalog's syntactic rules; T: the type checker.
	wantCalls := []string{
		"NewServer -> New RT",                // a function of an imported package of the tree
		"(*Server).Lookup -> (*Store).Get T", // through a field: types only
		"(*Server).Len -> (*Set).Add T",      // a generic type's method, across packages
		"(*Server).Len -> (Set).Len T",       // the rule's unique "Len" of api.go is Len itself, no self-call
		"(*Store).Put -> (*Store).note RT",   // a method on the receiver
		"(*Store).Put -> normalize RT",       // a package function
		"(*Store).Get -> normalize RT",       //
		"(*Store).Keys -> normalize RT",      // inside a closure; s.Get as a value is not a call
		"(*Store).Keys -> apply RT",          //
		"init -> New RT",                     //
		"init#2 -> New RT",                   //
		"init#2 -> Reset RT",                 //
		"Reset -> (*Store).Put RT",           // the file's only method named Put
	}
	if got := callRows(tr); !slices.Equal(got, wantCalls) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCalls, "\n"))
	}
	if tr.Prefix != "" {
		t.Errorf("prefix of a module's root = %q, want empty", tr.Prefix)
	}
}

func TestReadRulesOnlyAndSelection(t *testing.T) {
	tr, err := Read(fixture, Options{Files: []string{"store/*"}, SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var selected []string
	for _, f := range tr.Funcs {
		if f.Selected {
			selected = append(selected, f.Symbol)
		}
	}
	// Unselected test files are not read; unselected code is, for calls.
	if len(selected) != 14 || selected[0] != "New" || selected[13] != "TestSet" || len(tr.Funcs) != 17 {
		t.Fatalf("selected %v of %d funcs", selected, len(tr.Funcs))
	}
	for _, c := range callRows(tr) {
		if strings.HasSuffix(c, "T") {
			t.Errorf("rules-only read found %q through types", c)
		}
	}
	if got := len(tr.Calls); got != 10 {
		t.Errorf("rules-only read found %d calls, want 10: %v", got, callRows(tr))
	}
	sub, err := Read(filepath.Join(fixture, "store"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Prefix != "store/" || sub.Funcs[0].File != "store.go" {
		t.Fatalf("a subdirectory of the module: prefix %q, first file %q", sub.Prefix, sub.Funcs[0].File)
	}
}

func TestReadBadInput(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		opts  Options
		error string
	}{
		{"testdata/missing", Options{}, "no such file"},
		{fixture + "/go.mod", Options{}, "is not a directory"},
		{fixture, Options{Files: []string{"nothing*.go"}}, "no .go file under"},
		{fixture, Options{Files: []string{"[bad"}}, "bad --files pattern"},
	} {
		if _, err := Read(tc.dir, tc.opts); err == nil || !strings.Contains(err.Error(), tc.error) {
			t.Errorf("Read(%s, %+v) = %v, want %q", tc.dir, tc.opts, err, tc.error)
		}
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "x.go"), []byte("package x\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(broken, Options{}); err == nil || !strings.Contains(err.Error(), "x.go:2") {
		t.Errorf("Read of a file that does not parse = %v, want its position", err)
	}
}

func TestCatalogAssignsIDsAndBatches(t *testing.T) {
	tr, err := Read(fixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, typesOnly := tr.Catalog(Plan{Batch: 7, Name: "tree", DependsOn: []int{3}, FirstFeatureID: 100, FirstTestID: 500, Prefix: "src/"})
	if len(c.Batches) != 1 || c.Batches[0].ID != 7 || c.Batches[0].GoFile != "src/" || !slices.Equal(c.Batches[0].DependsOn, []int{3}) {
		t.Fatalf("batches = %+v", c.Batches)
	}
	var rows []string
	for _, it := range c.Items {
		rows = append(rows, fmt.Sprintf("%s %d %d %s %s %d-%d %s", it.Kind, it.ID, it.BatchID, it.GoFile, it.GoSymbol, it.GoLineStart, it.GoLineEnd, it.Status))
	}
	if rows[0] != "feature 100 7 src/api/api.go NewServer 11-13 deferred" || rows[3] != "test 500 7 src/api/api_test.go TestLookup 5-5 deferred" ||
		rows[4] != "feature 103 7 src/store/store.go New 16-18 deferred" || rows[17] != "test 502 7 src/store/store_test.go TestSet 15-17 deferred" {
		t.Fatalf("items:\n%s", strings.Join(rows, "\n"))
	}
	if len(c.Calls) != 13 || c.Calls[0] != [2]int{100, 103} || typesOnly != 3 {
		t.Fatalf("calls %v, %d through types only", c.Calls, typesOnly)
	}
	again, _ := tr.Catalog(Plan{Batch: 7, Name: "tree", DependsOn: []int{3}, FirstFeatureID: 100, FirstTestID: 500, Prefix: "src/"})
	if !slices.EqualFunc(c.Items, again.Items, func(a, b db.Item) bool { return a == b }) {
		t.Fatal("the same tree and plan gave other items")
	}
}

func TestCatalogPerFileAndExisting(t *testing.T) {
	tr, err := Read(fixture, Options{Files: []string{"store/*"}})
	if err != nil {
		t.Fatal(err)
	}
	// api/api.go is already listed: calls from it into the new features are
	// kept, with its existing IDs.
	existing := map[[2]string]int{{"api/api.go", "NewServer"}: 1, {"api/api.go", "(*Server).Lookup"}: 2}
	c, _ := tr.Catalog(Plan{Batch: 20, PerFile: true, FirstFeatureID: 10, FirstTestID: 10, Existing: existing})
	if len(c.Batches) != 1 || c.Batches[0].Name != "store.go" || c.Batches[0].GoFile != "store/store.go" {
		t.Fatalf("per-file batches = %+v", c.Batches)
	}
	for _, it := range c.Items {
		if it.BatchID != 20 {
			t.Fatalf("%s %d in batch %d: store_test.go's tests join store.go's batch", it.Kind, it.ID, it.BatchID)
		}
	}
	if !slices.Contains(c.Calls, [2]int{1, 10}) || !slices.Contains(c.Calls, [2]int{2, 12}) {
		t.Fatalf("calls from listed features into new ones are missing: %v", c.Calls)
	}

	all, err := Read(fixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = all.Catalog(Plan{Batch: 1, Name: "tree", PerFile: true, FirstFeatureID: 1, FirstTestID: 1})
	var names []string
	for _, b := range c.Batches {
		names = append(names, fmt.Sprintf("%d %s", b.ID, b.Name))
	}
	if want := []string{"1 tree api.go", "2 tree store.go"}; !slices.Equal(names, want) {
		t.Fatalf("per-file batches %v, want %v", names, want)
	}
}
