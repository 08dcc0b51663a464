package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A promotion's evidence is the latest row per gate up to its link on the
// code the link judged: an earlier failing run, a gate recorded after the
// promotion in the same second, and a gate last run on other code all stay
// out.
func TestEvidenceBehind(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	// One clock second for everything, so only the ID bound can keep later
	// rows out.
	d.SetClock(func() time.Time { return time.Date(2026, 11, 28, 0, 23, 58, 0, time.UTC) })
	root := mapped(t, d, 2599)
	record := func(g Gate, passed bool) int64 {
		t.Helper()
		hash, err := d.CodeHash(ctx, root, 30)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := d.RecordEvidence(ctx, Evidence{Kind: KindFeature, ItemID: 2599, BatchID: 30, Gate: g, Passed: passed,
			Command: "gate " + string(g), Summary: string(g) + " ran", GitCommit: "0d63589fe670", GoVersion: "go1.26", CodeHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	promote := func(to Status) int64 {
		t.Helper()
		plan, err := d.ChangeItemStatus(ctx, StatusChange{Kind: KindFeature, IDs: []int{2599}, To: to, Actor: "verify", Root: root})
		if err != nil {
			t.Fatal(err)
		}
		return *plan.Changes[0].EvidenceID
	}
	check := func(link int64, want ...int64) {
		t.Helper()
		got, err := d.EvidenceBehind(ctx, KindFeature, 2599, link)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if len(ids) != len(want) {
			t.Fatalf("evidence behind %d = %v, want %v", link, ids, want)
		}
		for i := range want {
			if ids[i] != want[i] {
				t.Fatalf("evidence behind %d = %v, want %v", link, ids, want)
			}
		}
	}

	record(GateBuild, false)
	build := record(GateBuild, true)
	stub := record(GateStub, true)
	dep := record(GateDependency, true)
	toComplete := promote(StatusComplete)
	if toComplete != dep {
		t.Fatalf("complete linked %d, want %d", toComplete, dep)
	}
	record(GateCoverage, true)
	record(GateMutation, true)
	check(toComplete, dep, stub, build)

	if err := os.WriteFile(filepath.Join(root, "raftport", "more.go"), []byte("package raftport\n\nfunc more() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newDep, newStub, newBuild, newCov, newMut := record(GateDependency, true), record(GateStub, true), record(GateBuild, true), record(GateCoverage, true), record(GateMutation, true)
	toVerified := promote(StatusVerified)
	check(toVerified, newDep, newStub, newBuild, newCov, newMut)
	check(toComplete, dep, stub, build)

	got, err := d.EvidenceBehind(ctx, KindFeature, 2599, toVerified)
	if err != nil {
		t.Fatal(err)
	}
	if e := got[2]; e.Gate != GateBuild || !e.Passed || e.GitCommit != "0d63589fe670" || e.GoVersion != "go1.26" || e.Command != "gate build" || e.Summary != "build ran" {
		t.Fatalf("build row = %+v", e)
	}

	var bad *BadInputError
	if _, err := d.EvidenceBehind(ctx, KindFeature, 2600, toVerified); !errors.As(err, &bad) {
		t.Fatalf("evidence of another item: %v, want bad input", err)
	}
	if _, err := d.EvidenceBehind(ctx, KindFeature, 2599, 1<<40); !errors.As(err, &bad) {
		t.Fatalf("unknown evidence: %v, want bad input", err)
	}
}
