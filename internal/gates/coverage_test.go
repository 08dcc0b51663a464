package gates

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCoverageGate(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"},
		Items: []Item{featAdd, featSign, featIsPositive, featTriple, testAdd}}
	rs, err := Coverage{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	if len(got) != 4 {
		t.Fatalf("want 4 feature results, got %d", len(got))
	}
	expect(t, got, featAdd, true, "", 0)
	expect(t, got, featSign, true, "", 0)
	expect(t, got, featIsPositive, true, "", 0)
	expect(t, got, featTriple, false, "none of 1 statement covered", 0)
	for _, c := range []struct {
		it   Item
		want float64
	}{{featAdd, 1}, {featSign, 1}, {featTriple, 0}} {
		if r := got[ItemKey{KindFeature, c.it.ID}]; r.Coverage != c.want {
			t.Errorf("%s coverage %v, want %v", c.it.TargetSymbol, r.Coverage, c.want)
		}
	}
	if d := got[ItemKey{KindFeature, featSign.ID}].Detail; d["statements"] != 5 {
		t.Errorf("Sign has 5 statements, detail says %v", d)
	}
}

// Coverage needs a passing run: a failing suite refuses every feature.
func TestCoverageGateNeedsPassingRun(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./failing"}, TargetPackages: []string{"./calc"},
		Items: []Item{featAdd}}
	rs, err := Coverage{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	expect(t, got, featAdd, false, "", 0)
	r := got[ItemKey{KindFeature, featAdd.ID}]
	if !containsFold(r.Summary, "needs a passing run") || r.ExitCode == 0 {
		t.Fatalf("summary %q exit %d", r.Summary, r.ExitCode)
	}
	if !findingsContain(r.Findings, "--- FAIL: TestFailing") || !findingsContain(r.Findings, "planted failure") {
		t.Fatalf("findings do not name the failing test and its message: %v", r.Findings)
	}
}

// A hung suite is reported as a timeout naming the test that was running,
// not as a bare failed exit.
func TestCoverageGateNamesHungTest(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./hanging"}, TargetPackages: []string{"./calc"},
		Items: []Item{featAdd}, CommandTimeout: 3 * time.Second}
	rs, err := Coverage{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r := byItem(t, rs)[ItemKey{KindFeature, featAdd.ID}]
	if r.Passed || !containsFold(r.Summary, "timed out after 3s") {
		t.Fatalf("passed=%v summary %q", r.Passed, r.Summary)
	}
	if !findingsContain(r.Findings, "still running: TestHangs") {
		t.Fatalf("findings do not name the hung test: %v", r.Findings)
	}
}

func findingsContain(fs []Finding, sub string) bool {
	for _, f := range fs {
		if strings.Contains(f.String(), sub) {
			return true
		}
	}
	return false
}
