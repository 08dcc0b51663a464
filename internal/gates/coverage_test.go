package gates

import (
	"context"
	"strings"
	"testing"
	"time"
)

var (
	refSign     = TestRef{Dir: "calctest", Name: "TestSign"}
	refAdd      = TestRef{Dir: "calctest", Name: "TestAdd"}
	refSubtests = TestRef{Dir: "calctest", Name: "TestInSubtests"}
	refUnmapped = TestRef{Dir: "calctest", Name: "TestTripleUnmapped"}
)

func coverageOf(t *testing.T, in *Input) map[ItemKey]Result {
	t.Helper()
	in.CacheDir, in.memo = t.TempDir(), nil
	rs, err := Coverage{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return byItem(t, rs)
}

// Only the tests that claim a feature count: the run's mapped tests (or
// Input.ClaimTests) and the end-to-end tests. TestTripleUnmapped runs
// Triple but claims nothing.
func TestCoverageCountsOnlyClaimingTests(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Items: []Item{featAdd, featSign, featTriple, testAdd}}
	got := coverageOf(t, in)
	if len(got) != 3 {
		t.Fatalf("want 3 feature results, got %d", len(got))
	}
	expect(t, got, featAdd, true, "", 0)
	expect(t, got, featSign, false, "0/5 statements", 0)
	expect(t, got, featTriple, false, "0/1 statements", 0)
	if r := got[ItemKey{KindFeature, featAdd.ID}]; r.Coverage != 1 || r.Detail["min_coverage"] != DefaultMinCoverage {
		t.Errorf("Add: coverage %v, detail %v", r.Coverage, r.Detail)
	}

	in = &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Items: []Item{featSign, featTriple}, ClaimTests: map[int][]TestRef{0: {refSign, refAdd}}}
	got = coverageOf(t, in)
	expect(t, got, featSign, true, "", 0)
	expect(t, got, featTriple, false, "0/1 statements", 0)
	in.ClaimTests[0] = append(in.ClaimTests[0], refUnmapped)
	expect(t, coverageOf(t, in), featTriple, true, "", 0)
}

// A feature needs the stated fraction of its statements run: TestInSubtests
// runs 2 of Sign's 5.
func TestCoverageMinimumFraction(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}, TargetPackages: []string{"./calc"},
		Items: []Item{featSign}, ClaimTests: map[int][]TestRef{0: {refSubtests}}}
	expect(t, coverageOf(t, in), featSign, false, "2/5 statements (40%) run by 1 test claiming it; minimum 50%", 0)
	in.MinCoverage = 0.4
	got := coverageOf(t, in)
	expect(t, got, featSign, true, "", 0)
	if d := got[ItemKey{KindFeature, featSign.ID}].Detail; d["min_coverage"] != 0.4 || d["statements"] != 5 {
		t.Errorf("detail %v", d)
	}
}

// End-to-end tests count for every feature without a mapping.
func TestCoverageFromEndToEndTests(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest", "./e2e"}, TargetPackages: []string{"./calc"},
		Items: []Item{featTriple}, ClaimTests: map[int][]TestRef{0: {refAdd}}}
	got := coverageOf(t, in)
	expect(t, got, featTriple, true, "", 0)
	if by := got[ItemKey{KindFeature, featTriple.ID}].Detail["covering_tests"]; !strings.Contains(strings.Join(by.([]string), ","), "TestE2ETriple") {
		t.Errorf("covering tests %v", by)
	}
}

// A claiming test that fails, or hangs, counts for nothing and is named.
func TestCoverageIgnoresFailingClaims(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./failing", "./hanging"}, TargetPackages: []string{"./calc"},
		Items: []Item{featAdd}, CommandTimeout: 3 * time.Second,
		ClaimTests: map[int][]TestRef{0: {{Dir: "failing", Name: "TestFailing"}, {Dir: "hanging", Name: "TestHangs"}}}}
	got := coverageOf(t, in)
	expect(t, got, featAdd, false, "claiming tests that failed, not counted: TestFailing, TestHangs", 0)
}

func findingsContain(fs []Finding, sub string) bool {
	for _, f := range fs {
		if strings.Contains(f.String(), sub) {
			return true
		}
	}
	return false
}
