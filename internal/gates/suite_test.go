package gates

import (
	"context"
	"path/filepath"
	"testing"
)

func TestSuiteGate(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), TestPackages: []string{"./calctest"}}
	rs, err := Suite{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Passed || rs[0].ItemID != 0 {
		t.Fatalf("calctest passes as a whole: %+v", rs)
	}
	if skipped := rs[0].Detail["skipped"].([]string); len(skipped) != 2 {
		t.Fatalf("want the two planted skips listed, got %v", skipped)
	}

	in.TestPackages = []string{"./calctest", "./failing"}
	rs, err = Suite{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Passed || len(rs[0].Findings) != 1 {
		t.Fatalf("want one failure, got %+v", rs)
	}
	want := "example.com/fixture/failing.TestFailing failed: " + filepath.Base(testFailing.TargetFile) + ":11: planted failure: Add(2, 2) = 4, want 5"
	if got := rs[0].Findings[0].Message; got != want {
		t.Fatalf("finding\n%s\nwant\n%s", got, want)
	}
}
