package gates

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mutate(t *testing.T, in *Input) map[ItemKey]Result {
	t.Helper()
	rs, err := Mutation{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return byItem(t, rs)
}

// The kill matrix: Sign's tests kill every mutant, IsPositive's weak test
// lets its one survive; a mapped test passes only if it killed a mutant.
func TestMutationKillMatrix(t *testing.T) {
	var progress strings.Builder
	// A relative RepoDir: the overlay must still name the file the go
	// command compiles, or every mutant would look like a survivor.
	in := &Input{RepoDir: filepath.Join("testdata", "fixture"), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Mutants: 3, MutantTimeout: time.Minute, CacheDir: t.TempDir(), Progress: &progress,
		Items: []Item{featSign, featIsPositive, testSign, testWeak, testAdd}}
	got := mutate(t, in)
	if len(got) != 5 {
		t.Fatalf("want 5 results, got %d", len(got))
	}
	expect(t, got, featSign, true, "", 0)
	expect(t, got, featIsPositive, false, "mutant survived: `n > 0` -> `n >= 0`", 23)
	expect(t, got, testSign, true, "", 0)
	expect(t, got, testWeak, false, "killed no mutant", 0)
	expect(t, got, testAdd, false, "killed no mutant (ran against 0)", 0)
	sign, weak := got[ItemKey{KindFeature, featSign.ID}], got[ItemKey{KindFeature, featIsPositive.ID}]
	if sign.KillRate != 1 || sign.Detail["mutants"] != 3 {
		t.Errorf("Sign: kill rate %v, detail %v", sign.KillRate, sign.Detail)
	}
	for _, row := range sign.Detail["matrix"].([]MatrixRow) {
		if row.Outcome != mutantKilled || !slices.Contains(row.KilledBy, "calctest.TestSign") {
			t.Errorf("Sign's mutant %s: %s by %v", row.Key, row.Outcome, row.KilledBy)
		}
	}
	if weak.KillRate != 0 || weak.Detail["survived"] != 1 {
		t.Errorf("IsPositive: kill rate %v, detail %v", weak.KillRate, weak.Detail)
	}
	if !strings.Contains(progress.String(), "mutation: 1/4 feature 2") {
		t.Errorf("no progress lines: %q", progress.String())
	}
	// The repo itself is never written.
	src, err := os.ReadFile(filepath.Join(in.RepoDir, "calc", "calc.go"))
	if err != nil || !strings.Contains(string(src), "return n > 0") {
		t.Fatalf("fixture source changed: %v", err)
	}

	// The second run on the same tree takes every outcome from the cache.
	in.memo = nil
	again := mutate(t, in)[ItemKey{KindFeature, featSign.ID}]
	if run := again.Detail["run"].(map[string]any); run["cache_hits"] != 4 || run["built"] != 0 {
		t.Errorf("rerun: %v", run)
	}
}

// An equivalent mutant leaves the count only with a recorded reason, which
// the matrix shows.
func TestMutationExcusedMutants(t *testing.T) {
	keys, err := MutantKeys(fixtureDir(t), featIsPositive.TargetFile, featIsPositive.TargetSymbol, 3)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Mutants: 3, CacheDir: t.TempDir(), Items: []Item{featIsPositive, testWeak}}
	got := mutate(t, in)
	expect(t, got, featIsPositive, false, "mutant survived", 23)
	in.Excused = map[int]map[string]string{featIsPositive.ID: {keys[0]: "planted: the boundary is never tested"}}
	in.memo = nil
	r := mutate(t, in)[ItemKey{KindFeature, featIsPositive.ID}]
	if !r.Passed || r.Detail["excused"] != 1 {
		t.Fatalf("passed %v, detail %v", r.Passed, r.Detail)
	}
	if rows := r.Detail["matrix"].([]MatrixRow); rows[0].Excused != "planted: the boundary is never tested" {
		t.Errorf("matrix %+v", rows)
	}
}

// Dropping i++ makes SumTo's loop endless: the per-mutant timeout ends the
// run and the mutant counts as killed.
func TestMutationGateTimeout(t *testing.T) {
	sumTo := Item{Kind: KindFeature, ID: 8, TargetFile: "calc/calc.go", TargetSymbol: "SumTo"}
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Mutants: 5, MutantTimeout: 2 * time.Second, CacheDir: t.TempDir(), Items: []Item{sumTo},
		ClaimTests: map[int][]TestRef{0: {{Dir: "calctest", Name: "TestSumTo"}}}}
	start := time.Now()
	r := mutate(t, in)[ItemKey{KindFeature, sumTo.ID}]
	if !r.Passed || r.KillRate != 1 || r.Detail["timeouts"] != 2 || r.Detail["mutants"] != 4 {
		t.Fatalf("passed %v, kill rate %v, detail %v, findings %v", r.Passed, r.KillRate, r.Detail, r.Findings)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("the endless mutant was not bounded: %s", d)
	}
}

// A claiming test that fails unmutated judges nothing: its mutants count as
// survivors, no test covering them.
func TestMutationNeedsPassingClaims(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./failing"}, TargetPackages: []string{"./calc"},
		Mutants: 2, CacheDir: t.TempDir(), Items: []Item{featSign},
		ClaimTests: map[int][]TestRef{0: {{Dir: "failing", Name: "TestFailing"}}}}
	expect(t, mutate(t, in), featSign, false, "no claiming test covers it", 0)
}

func TestMutantSelection(t *testing.T) {
	p, err := parseFile(filepath.Join(fixtureDir(t), "calc", "calc.go"), "calc/calc.go")
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := findFunc(p.file, symbol{Name: "Sign"})
	sites := mutantsOf(p, fd)
	counts := map[string]int{}
	for k, ms := range sites {
		counts[k] = len(ms)
	}
	// Two comparisons, two ifs and the two returns inside the ifs (the
	// final return stays).
	want := map[string]int{"compare": 2, "negate": 2, "drop": 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s sites: %d, want %d (%v)", k, counts[k], n, counts)
		}
	}
	picked := pickMutants(sites, 5)
	var kinds []string
	for _, m := range picked {
		kinds = append(kinds, m.kind)
	}
	if got := strings.Join(kinds, ","); got != "compare,negate,drop,compare,negate" {
		t.Errorf("round robin picked %s", got)
	}
	if got := string(picked[0].apply(p.src)); !strings.Contains(got, "if n <= 0 {") {
		t.Errorf("compare mutant not applied:\n%s", got)
	}
	if len(pickMutants(sites, 100)) != 6 {
		t.Errorf("pickMutants does not stop at the number of sites")
	}
}

// Dropping a return that ends an if/else leaves a missing return, reported
// at the function's closing brace: those mutants are discarded, the others
// of the same schema build still judged (v <= 0 survives: it is equivalent,
// since Abs(0) is 0 either way).
func TestMutationDiscardsMutantsThatDoNotCompile(t *testing.T) {
	abs := Item{Kind: KindFeature, ID: 29, TargetFile: "calc/planted.go", TargetSymbol: "Abs"}
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Mutants: 10, CacheDir: t.TempDir(), Items: []Item{abs, featSign},
		ClaimTests: map[int][]TestRef{0: {{Dir: "calctest", Name: "TestAbs"}, refSign}}}
	got := mutate(t, in)
	r := got[ItemKey{KindFeature, abs.ID}]
	if r.Detail["discarded"] != 2 || r.Detail["killed"] != 1 {
		t.Fatalf("Abs: %v", r.Detail)
	}
	expect(t, got, featSign, true, "", 0)
}

// A closure's final return is not dropped: the schema would not compile
// ("missing return") and the gate could not tell which mutant broke it.
func TestMutantKeepsClosuresFinalReturn(t *testing.T) {
	src := []byte(`package p

func under(f func() bool) bool { return f() }

func Ready(n int) bool {
	ok := under(func() bool {
		if n > 9 {
			return false
		}
		return n > 0
	})
	return ok
}
`)
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p := &parsedFile{fset: fset, file: file, src: src, path: "p.go"}
	fd, _ := findFunc(p.file, symbol{Name: "Ready"})
	var drops []string
	for _, m := range mutantsOf(p, fd)["drop"] {
		drops = append(drops, m.desc)
	}
	if want := "dropped `return false`"; len(drops) != 1 || drops[0] != want {
		t.Fatalf("drop mutants %q, want only %q", drops, want)
	}
}

// A test that would fail a mutant but never runs first against it still
// gets its chance: the credit pass runs every test item that killed nothing
// against the mutants it covers, so its verdict does not depend on which
// test the parallel pass happened to run first.
func TestMutationCreditPassGivesEveryTestItsChance(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		in := &Input{RepoDir: filepath.Join("testdata", "fixture"), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
			Mutants: 5, MutantTimeout: time.Minute, CacheDir: t.TempDir(), Parallel: parallel,
			Items: []Item{featSign, testSign, testSubtests}}
		got := mutate(t, in)
		sub := got[ItemKey{KindTest, testSubtests.ID}]
		if !sub.Passed {
			t.Fatalf("parallel %d: TestInSubtests not credited: %s", parallel, sub.Summary)
		}
		if got[ItemKey{KindTest, testSign.ID}].Passed != true {
			t.Errorf("parallel %d: TestSign: %s", parallel, got[ItemKey{KindTest, testSign.ID}].Summary)
		}
		// The credit runs are in the cache: a rerun runs nothing.
		in.memo = nil
		again := mutate(t, in)
		if !again[ItemKey{KindTest, testSubtests.ID}].Passed {
			t.Errorf("parallel %d: rerun lost the credit", parallel)
		}
		if run := again[ItemKey{KindFeature, featSign.ID}].Detail["run"].(map[string]any); run["built"] != 0 {
			t.Errorf("parallel %d: rerun built a schema: %v", parallel, run)
		}
	}
}

// A mutant is judged by the coverage of the statement holding it: a case
// clause's expressions by their switch, an if's condition by the if, which
// a function literal in its init splits from every coverage block.
func TestCoveredAtCaseExpressions(t *testing.T) {
	src := `package p

func f(err error, n int) int {
	if n > 0 {
		n++
	}
	switch {
	case err == nil, n == 2:
	default:
		n--
	}
	if err := g(func() error { return err }); err != nil {
		n += 3
	}
	return n
}
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := file.Decls[0].(*ast.FuncDecl)
	at := func(sub string) token.Pos { return fset.File(fd.Pos()).Pos(strings.Index(src, sub)) }
	for _, tc := range []struct {
		mutant, want string
	}{
		{"err == nil", "switch {"},
		{"n == 2", "switch {"},
		{"n > 0", "if n > 0"},
		{"n--", "n--"},
		{"err != nil", "if err := g"},
		{"return err }", "return err }"},
		{"n += 3", "n += 3"},
	} {
		if got, want := fset.Position(coveredAt(fd, at(tc.mutant))), fset.Position(at(tc.want)); got != want {
			t.Errorf("mutant at %q: judged at %v, want %v", tc.mutant, got, want)
		}
	}
}
