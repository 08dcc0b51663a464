package gates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// The gates start go commands whose pipe-copying goroutines must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixtureDir is the fixture module's absolute path: the gates run the go
// command there, outside the main module.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "fixture"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("fixture module missing: %v", err)
	}
	return dir
}

// The fixture's items. Feature IDs < 100, test IDs >= 100.
var (
	featAdd        = Item{Kind: KindFeature, ID: 1, TargetFile: "calc/calc.go", TargetSymbol: "Add"}
	featSign       = Item{Kind: KindFeature, ID: 2, TargetFile: "calc/calc.go", TargetSymbol: "Sign"}
	featIsPositive = Item{Kind: KindFeature, ID: 3, TargetFile: "calc/calc.go", TargetSymbol: "IsPositive"}
	featTriple     = Item{Kind: KindFeature, ID: 4, TargetFile: "calc/calc.go", TargetSymbol: "Triple"}
	featID         = Item{Kind: KindFeature, ID: 5, TargetFile: "calc/calc.go", TargetSymbol: "(*Node).ID"}
	featClose      = Item{Kind: KindFeature, ID: 6, TargetFile: "calc/calc.go", TargetSymbol: "(*Node).Close"}
	featKind       = Item{Kind: KindFeature, ID: 7, TargetFile: "calc/calc.go", TargetSymbol: "(Node).Kind"}
	featParse      = Item{Kind: KindFeature, ID: 11, TargetFile: "calc/stubs.go", TargetSymbol: "Parse"}
	featReset      = Item{Kind: KindFeature, ID: 12, TargetFile: "calc/stubs.go", TargetSymbol: "Reset"}
	featScale      = Item{Kind: KindFeature, ID: 13, TargetFile: "calc/stubs.go", TargetSymbol: "Scale"}
	featRound      = Item{Kind: KindFeature, ID: 14, TargetFile: "calc/stubs.go", TargetSymbol: "Round"}
	featLookup     = Item{Kind: KindFeature, ID: 15, TargetFile: "calc/stubs.go", TargetSymbol: "Lookup"}
	featZero       = Item{Kind: KindFeature, ID: 16, TargetFile: "calc/stubs.go", TargetSymbol: "Zero"}
	featNormalize  = Item{Kind: KindFeature, ID: 17, TargetFile: "calc/stubs.go", TargetSymbol: "Normalize"}
	featFlush      = Item{Kind: KindFeature, ID: 18, TargetFile: "calc/stubs.go", TargetSymbol: "(*Node).Flush"}
	featMissing    = Item{Kind: KindFeature, ID: 19, TargetFile: "calc/stubs.go", TargetSymbol: "Missing"}

	testAdd        = Item{Kind: KindTest, ID: 101, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestAdd"}
	testSign       = Item{Kind: KindTest, ID: 102, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestSign"}
	testWeak       = Item{Kind: KindTest, ID: 103, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestIsPositiveWeak"}
	testSkipped    = Item{Kind: KindTest, ID: 104, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestSkipped"}
	testSkipHelper = Item{Kind: KindTest, ID: 105, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestSkippedByHelper"}
	testNoFail     = Item{Kind: KindTest, ID: 106, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestNoFailurePath"}
	testSubtests   = Item{Kind: KindTest, ID: 107, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestInSubtests"}
	testFailing    = Item{Kind: KindTest, ID: 108, TargetFile: "failing/failing_test.go", TargetSymbol: "TestFailing"}
	testPassing    = Item{Kind: KindTest, ID: 109, TargetFile: "failing/failing_test.go", TargetSymbol: "TestPassing"}
	testMissing    = Item{Kind: KindTest, ID: 110, TargetFile: "failing/failing_test.go", TargetSymbol: "TestMissing"}
	testTable      = Item{Kind: KindTest, ID: 111, TargetFile: "calctest/calc_test.go", TargetSymbol: "TestTable"}
)

// byItem indexes results by item, failing the test on a duplicate.
func byItem(t *testing.T, rs []Result) map[ItemKey]Result {
	t.Helper()
	out := map[ItemKey]Result{}
	for _, r := range rs {
		k := ItemKey{r.Kind, r.ItemID}
		if _, dup := out[k]; dup {
			t.Fatalf("two %s results for %v", r.Gate, k)
		}
		out[k] = r
	}
	return out
}

// expect asserts one item's verdict, and for a refusal that some finding
// contains want (at the given line when line > 0).
func expect(t *testing.T, rs map[ItemKey]Result, it Item, passed bool, want string, line int) {
	t.Helper()
	r, ok := rs[ItemKey{it.Kind, it.ID}]
	if !ok {
		t.Fatalf("%s %d (%s): no result", it.Kind, it.ID, it.TargetSymbol)
	}
	if r.Passed != passed {
		t.Fatalf("%s %d (%s): passed = %v, want %v; summary %q, findings %v", it.Kind, it.ID, it.TargetSymbol, r.Passed, passed, r.Summary, r.Findings)
	}
	if want == "" {
		return
	}
	for _, f := range r.Findings {
		if containsFold(f.Message, want) && (line == 0 || f.Line == line) {
			return
		}
	}
	t.Fatalf("%s %d (%s): no finding with %q at line %d in %v", it.Kind, it.ID, it.TargetSymbol, want, line, r.Findings)
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
