package gates

import (
	"context"
	"strings"
	"testing"
)

// RunAll with the default gates over a good feature and its good test:
// every gate passes both, and a failing item fails only itself.
func TestRunAllDefault(t *testing.T) {
	var progress strings.Builder
	in := &Input{RepoDir: fixtureDir(t), BatchCanStart: true, Progress: &progress,
		TestPackages:   []string{"./calctest"},
		TargetPackages: []string{"./calc"},
		Items:          []Item{featAdd, featTriple, testAdd, testSkipped}}
	gs := Default(in)
	var names []string
	for _, g := range gs {
		names = append(names, g.Name())
	}
	if got := strings.Join(names, ","); got != "dependency,stubscan,build,test,coverage" {
		t.Fatalf("default gates %s", got)
	}
	rs, err := RunAll(context.Background(), gs, in)
	if err != nil {
		t.Fatal(err)
	}
	v := Verdicts(in.Items, rs)
	want := map[ItemKey]bool{
		{KindFeature, featAdd.ID}:    true,
		{KindFeature, featTriple.ID}: false, // uncovered
		{KindTest, testAdd.ID}:       true,
		{KindTest, testSkipped.ID}:   false,
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%v: verdict %v, want %v", k, v[k], w)
		}
	}
	for _, line := range []string{"gate dependency: running", "gate coverage: running"} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q", line)
		}
	}
	in.Mutants = 2
	if gs := Default(in); gs[len(gs)-1].Name() != GateMutation {
		t.Error("Mutants > 0 does not add the mutation gate")
	}
}

func TestVerdictsWholeTreeFailure(t *testing.T) {
	items := []Item{featAdd, testAdd}
	v := Verdicts(items, []Result{{Gate: GateStubScan, Passed: false}})
	if v[ItemKey{KindFeature, featAdd.ID}] || v[ItemKey{KindTest, testAdd.ID}] {
		t.Fatalf("a failed whole-tree result must fail every item: %v", v)
	}
}

func TestRunAllRejectsBadInput(t *testing.T) {
	cases := map[string]*Input{
		"no repository directory":    {},
		"unknown kind \"benchmark\"": {RepoDir: ".", Items: []Item{{Kind: "benchmark", ID: 1, TargetFile: "a.go", TargetSymbol: "F"}}},
		"no target file or symbol":   {RepoDir: ".", Items: []Item{{Kind: KindFeature, ID: 2}}},
		"malformed target symbol":    {RepoDir: ".", Items: []Item{{Kind: KindTest, ID: 3, TargetFile: "a.go", TargetSymbol: "pkg.F"}}},
	}
	for want, in := range cases {
		_, err := RunAll(context.Background(), Default(in), in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error with %q, got %v", want, err)
		}
	}
}

func TestRunPatternAndGoVersion(t *testing.T) {
	got := RunPattern([]Item{testAdd, featAdd, testSign, testAdd})
	if got != "^(TestAdd|TestSign)$" {
		t.Fatalf("RunPattern = %q", got)
	}
	v, err := GoVersion(context.Background(), fixtureDir(t))
	if err != nil || !strings.HasPrefix(v, "go1.") {
		t.Fatalf("GoVersion = %q, %v", v, err)
	}
}

// Features alone name no test package: coverage and mutation refuse to
// guess rather than test the repo root.
func TestFeaturesNeedTestPackages(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), Items: []Item{featAdd}, Mutants: 1}
	for _, g := range []Gate{Coverage{}, Mutation{}} {
		if _, err := g.Run(context.Background(), in); err == nil || !strings.Contains(err.Error(), "no test packages") {
			t.Errorf("%s: want the no-test-packages error, got %v", g.Name(), err)
		}
	}
}
