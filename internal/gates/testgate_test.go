package gates

import (
	"context"
	"testing"
)

func TestTestGate(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), Items: []Item{
		featAdd, testAdd, testSkipped, testNoFail, testSubtests, testFailing, testPassing, testMissing,
	}}
	rs, err := Test{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	if _, ok := got[ItemKey{KindFeature, featAdd.ID}]; ok {
		t.Fatal("the test gate judged a feature")
	}
	expect(t, got, testAdd, true, "", 0)
	expect(t, got, testNoFail, true, "", 0) // it runs and passes; only the static scan refuses it
	expect(t, got, testSubtests, true, "", 0)
	expect(t, got, testPassing, true, "", 0)
	expect(t, got, testSkipped, false, "planted skip", 28)
	expect(t, got, testFailing, false, "planted failure", 11)
	if f := got[ItemKey{KindTest, testFailing.ID}].Findings[0]; f.File != "failing/failing_test.go" {
		t.Fatalf("failure located in %q", f.File)
	}
	for it, want := range map[Item]string{testAdd: "pass", testSkipped: "skip", testFailing: "fail", testMissing: "missing"} {
		if d := got[ItemKey{KindTest, it.ID}].Detail; d["outcome"] != want {
			t.Errorf("%s: outcome %v, want %s", it.TargetSymbol, d["outcome"], want)
		}
	}
	r := got[ItemKey{KindTest, testMissing.ID}]
	if r.Passed || !containsFold(r.Summary, "never ran") {
		t.Fatalf("a mapped test that never ran: passed %v, summary %q", r.Passed, r.Summary)
	}
	cmd := got[ItemKey{KindTest, testAdd.ID}].Command
	want := "go test -race -json -count=1 -timeout=10m0s -run=^(TestAdd|TestSkipped|TestNoFailurePath|TestInSubtests|TestFailing|TestPassing|TestMissing)$ ./calctest ./failing"
	if cmd != want {
		t.Fatalf("command\n%s\nwant\n%s", cmd, want)
	}
}

// A package that does not compile: every mapped test in it never ran, and
// the build error is in the findings.
func TestTestGateBuildFailure(t *testing.T) {
	dir := t.TempDir()
	write(t, dir+"/go.mod", "module example.com/broken\n\ngo 1.26\n")
	write(t, dir+"/p/p_test.go", "package p\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) { t.Fatal(undefinedName) }\n")
	item := Item{Kind: KindTest, ID: 1, TargetFile: "p/p_test.go", TargetSymbol: "TestX"}
	rs, err := Test{}.Run(context.Background(), &Input{RepoDir: dir, Items: []Item{item}})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, byItem(t, rs), item, false, "undefined: undefinedName", 0)
}
