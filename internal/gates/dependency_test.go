package gates

import (
	"context"
	"testing"
)

func TestDependencyGate(t *testing.T) {
	in := &Input{
		RepoDir:       fixtureDir(t),
		Items:         []Item{featAdd, featSign, testAdd},
		BatchCanStart: true,
		CalleeStatus: map[int][]CalleeInfo{
			featAdd.ID:  {{ID: 40, Symbol: "helper", Status: "verified"}, {ID: 41, Symbol: "other", Status: "complete"}},
			featSign.ID: {{ID: 42, Symbol: "decodePeerState", Status: "stub"}, {ID: 43, Symbol: "x", Status: "n_a"}},
		},
	}
	rs, err := Dependency{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	expect(t, got, featAdd, true, "", 0)
	expect(t, got, featSign, false, "callee 42 decodePeerState is stub", 0)
	expect(t, got, testAdd, true, "", 0)

	in.BatchCanStart, in.BlockingReason = false, "batch 30 is in_progress"
	rs, err = Dependency{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got = byItem(t, rs)
	expect(t, got, featAdd, false, "batch 30 is in_progress", 0)
	expect(t, got, testAdd, false, "cannot start", 0)
}
