package gates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sign's tests kill every mutant; IsPositive's weak test lets the boundary
// mutant n >= 0 survive.
func TestMutationGate(t *testing.T) {
	var progress strings.Builder
	// A relative RepoDir: the overlay must still name the file the go
	// command compiles, or every mutant would look like a survivor.
	in := &Input{RepoDir: filepath.Join("testdata", "fixture"), TestPackages: []string{"./calctest"}, Mutants: 3,
		MutantTimeout: time.Minute, Items: []Item{featSign, featIsPositive, testAdd}, Progress: &progress}
	rs, err := Mutation{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	if len(got) != 2 {
		t.Fatalf("want 2 feature results, got %d", len(got))
	}
	expect(t, got, featSign, true, "", 0)
	expect(t, got, featIsPositive, false, "mutant survived: `n > 0` -> `n >= 0`", 23)
	sign, weak := got[ItemKey{KindFeature, featSign.ID}], got[ItemKey{KindFeature, featIsPositive.ID}]
	if sign.KillRate != 1 || sign.Detail["mutants"] != 3 {
		t.Errorf("Sign: kill rate %v, detail %v", sign.KillRate, sign.Detail)
	}
	if weak.KillRate != 0 || weak.Detail["survived"] != 2 {
		t.Errorf("IsPositive: kill rate %v, detail %v", weak.KillRate, weak.Detail)
	}
	// With a threshold of one half, Sign still passes and IsPositive (0%)
	// still fails; the threshold does not hide survivors.
	in.MinKillRate = 0.5
	in.Items = []Item{featIsPositive}
	rs, err = Mutation{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, byItem(t, rs), featIsPositive, false, "mutant survived", 23)
	if !strings.Contains(progress.String(), "mutant 1/3") {
		t.Errorf("no progress lines: %q", progress.String())
	}
	// The repo itself is never written.
	src, err := os.ReadFile(filepath.Join(in.RepoDir, "calc", "calc.go"))
	if err != nil || !strings.Contains(string(src), "return n > 0") {
		t.Fatalf("fixture source changed: %v", err)
	}
}

// Dropping i++ makes SumTo's loop endless: the per-mutant timeout ends the
// run and the mutant counts as killed.
func TestMutationGateTimeout(t *testing.T) {
	sumTo := Item{Kind: KindFeature, ID: 8, TargetFile: "calc/calc.go", TargetSymbol: "SumTo"}
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, Mutants: 5,
		MutationRun: "^TestSumTo$", MutantTimeout: 2 * time.Second, Items: []Item{sumTo}}
	start := time.Now()
	rs, err := Mutation{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r := byItem(t, rs)[ItemKey{KindFeature, sumTo.ID}]
	if !r.Passed || r.KillRate != 1 || r.Detail["timeouts"] != 1 || r.Detail["mutants"] != 5 {
		t.Fatalf("passed %v, kill rate %v, detail %v, findings %v", r.Passed, r.KillRate, r.Detail, r.Findings)
	}
	if !strings.Contains(r.Command, "-run=^TestSumTo$") {
		t.Fatalf("command %q does not restrict the run", r.Command)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("the endless mutant was not bounded: %s", d)
	}
}

// A failing baseline makes mutants meaningless: every feature is refused.
func TestMutationGateNeedsPassingBaseline(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./failing"}, Mutants: 1, Items: []Item{featAdd}}
	rs, err := Mutation{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, byItem(t, rs), featAdd, false, "", 0)
}

func TestMutationPassRule(t *testing.T) {
	cases := []struct {
		survived  int
		rate, min float64
		want      bool
	}{
		{0, 1, 0, true},
		{0, 0, 0, true}, // no valid mutant: nothing survived
		{1, 0.75, 0, false},
		{1, 0.75, 0.7, true},
		{1, 0.5, 0.7, false},
	}
	for _, c := range cases {
		if got := mutationPassed(c.survived, c.rate, c.min); got != c.want {
			t.Errorf("mutationPassed(%d, %v, %v) = %v, want %v", c.survived, c.rate, c.min, got, c.want)
		}
	}
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
	// Two comparisons, two ifs, five integer literals (0, 1, 0, 1, 0) and
	// the two returns inside the ifs (the final return stays).
	want := map[string]int{"compare": 2, "negate": 2, "constant": 5, "drop": 2}
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
	if got := strings.Join(kinds, ","); got != "compare,negate,constant,drop,compare" {
		t.Errorf("round robin picked %s", got)
	}
	if got := string(picked[0].apply(p.src)); !strings.Contains(got, "if n <= 0 {") {
		t.Errorf("compare mutant not applied:\n%s", got)
	}
	if len(pickMutants(sites, 100)) != 11 {
		t.Errorf("pickMutants does not stop at the number of sites")
	}
}
