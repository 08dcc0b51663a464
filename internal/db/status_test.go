package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChangeItemStatusInput(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	var bad *BadInputError
	var refused *RefusedError
	cases := []struct {
		req     StatusChange
		refused bool
		want    string
	}{
		{StatusChange{Kind: KindFeature, To: StatusStub, Actor: "a"}, false, "no IDs given"},
		{StatusChange{Kind: KindFeature, IDs: []int{2599, 2599}, To: StatusStub, Actor: "a"}, false, "duplicate IDs: 2599"},
		{StatusChange{Kind: KindFeature, IDs: []int{2599}, To: "done", Actor: "a"}, false, `unknown status "done"`},
		{StatusChange{Kind: KindBatch, IDs: []int{30}, To: StatusStub, Actor: "a"}, false, "has no item table"},
		{StatusChange{Kind: KindFeature, IDs: []int{2599}, To: StatusStub}, false, "without an actor"},
		{StatusChange{Kind: KindFeature, IDs: []int{2599}, To: StatusComplete, Actor: "a"}, false, "needs the repository root"},
		{StatusChange{Kind: KindFeature, IDs: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, To: StatusStub, Actor: "a"}, true, "16 IDs in one call"},
	}
	for _, c := range cases {
		_, err := d.ChangeItemStatus(ctx, c.req)
		if c.refused && !errors.As(err, &refused) || !c.refused && !errors.As(err, &bad) {
			t.Errorf("%+v: error %v of the wrong kind", c.req, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %q lacks %q", c.req, err, c.want)
		}
	}
}

func TestChangeItemStatusPlan(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	req := StatusChange{Kind: KindFeature, IDs: []int{2599, 2600}, To: StatusDeferred, Reason: InitialReason, Actor: "a", DryRun: true}
	plan, err := d.ChangeItemStatus(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 0 || len(plan.Unchanged) != 2 {
		t.Fatalf("re-deferring with the same reason planned %+v, want two unchanged", plan)
	}
	req.Reason = "blocked on the transport"
	req.DryRun = false
	plan, err = d.ChangeItemStatus(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 2 || plan.Changes[0].From != StatusDeferred || plan.Changes[0].EvidenceID != nil {
		t.Fatalf("plan = %+v", plan)
	}
	it, err := d.Item(ctx, KindFeature, 2600)
	if err != nil {
		t.Fatal(err)
	}
	if it.Reason != "blocked on the transport" {
		t.Fatalf("reason = %q", it.Reason)
	}
}

// mapped puts a Go file under a temporary root and maps feature id to it.
func mapped(t *testing.T, d *DB, id int) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "raftport"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "raftport", "state.go"), []byte("package raftport\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTarget(context.Background(), KindFeature, id, "raftport/state.go", "(RaftState).String"); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestEvidenceAPI(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	root := mapped(t, d, 2599)
	hash, err := d.CodeHash(ctx, root, 30)
	if err != nil {
		t.Fatal(err)
	}
	if dirs, err := d.TargetDirs(ctx, 30); err != nil || len(dirs) != 1 || dirs[0] != "raftport" {
		t.Fatalf("target dirs = %v, %v", dirs, err)
	}
	ev := Evidence{Kind: KindFeature, ItemID: 2599, BatchID: 30, Gate: GateBuild, Passed: false, Command: "go build ./raftport",
		ExitCode: 1, Summary: "undefined: x", GitCommit: "c0ffee", TreeDirty: true, GoVersion: "go1.26", CodeHash: hash}
	var bad *BadInputError
	for _, broken := range []Evidence{
		func() Evidence { e := ev; e.Gate = "lint"; return e }(),
		func() Evidence { e := ev; e.Kind = "widget"; return e }(),
		func() Evidence { e := ev; e.CodeHash = ""; return e }(),
		func() Evidence { e := ev; e.ItemID = 1; return e }(),
		func() Evidence { e := ev; e.BatchID = 31; return e }(),
	} {
		if _, err := d.RecordEvidence(ctx, ev, broken); !errors.As(err, &bad) {
			t.Fatalf("record %+v: %v, want bad input", broken, err)
		}
	}
	if latest, err := d.LatestEvidence(ctx, KindFeature, 2599); err != nil || len(latest) != 0 {
		t.Fatalf("a rejected batch of evidence left rows behind: %v %v", latest, err)
	}

	failing, passing := ev, ev
	passing.Passed, passing.ExitCode, passing.TreeDirty = true, 0, false
	ids, err := d.RecordEvidence(ctx, failing, passing)
	if err != nil || len(ids) != 2 || ids[1] <= ids[0] {
		t.Fatalf("record: %v %v", ids, err)
	}
	latest, err := d.LatestEvidence(ctx, KindFeature, 2599)
	if err != nil {
		t.Fatal(err)
	}
	got := latest[GateBuild]
	if len(latest) != 1 || got.ID != ids[1] || !got.Passed || got.TreeDirty || got.CreatedAt == "" || got.Command != ev.Command {
		t.Fatalf("latest = %+v", latest)
	}
	batchEv := Evidence{Kind: KindBatch, ItemID: 31, BatchID: 31, Gate: GateCheckpoint, Passed: true, Command: "porttrack audit", CodeHash: hash}
	if _, err := d.RecordEvidence(ctx, batchEv); err != nil {
		t.Fatalf("batch evidence: %v", err)
	}
}

func TestPromotionLinksEvidence(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	root := mapped(t, d, 2599)
	hash, err := d.CodeHash(ctx, root, 30)
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, g := range RequiredGates(KindFeature, StatusComplete) {
		ids, err := d.RecordEvidence(ctx, Evidence{Kind: KindFeature, ItemID: 2599, BatchID: 30, Gate: g, Passed: true, Command: "gate " + string(g), CodeHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		newest = ids[0]
	}
	req := StatusChange{Kind: KindFeature, IDs: []int{2599}, To: StatusComplete, Actor: "verify", Root: root}
	plan, err := d.ChangeItemStatus(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].EvidenceID == nil || *plan.Changes[0].EvidenceID != newest {
		t.Fatalf("plan = %+v, want the change linked to evidence %d", plan, newest)
	}
	log, err := d.History(ctx, KindFeature, 2599)
	if err != nil {
		t.Fatal(err)
	}
	if last := log[len(log)-1]; last.EvidenceID == nil || *last.EvidenceID != newest || last.To != "complete" {
		t.Fatalf("log row = %+v", last)
	}
}

func TestStatusCountsAndReady(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	counts, err := d.StatusCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		if c.Status != StatusDeferred {
			t.Fatalf("count %+v on a fresh database", c)
		}
		total += c.Count
	}
	if total != 302 {
		t.Fatalf("counted %d items, want 302", total)
	}
	ready, err := d.ReadyBatches(ctx)
	if err != nil || len(ready) != 1 || ready[0].ID != 30 {
		t.Fatalf("ready = %+v, %v", ready, err)
	}
	callers, err := d.Callers(ctx, 2751)
	if err != nil || len(callers) == 0 {
		t.Fatalf("callers of processAppendEntry = %v, %v", callers, err)
	}
}

// The promotion policy follows the gates verify runs: a feature is complete
// on dependency, stub and build; verified also on coverage (its test
// evidence); an opt-in mutation run on the current code must have passed.
func TestVerifiedNeedsCoverageAndMutation(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	root := mapped(t, d, 2599)
	record := func(g Gate, passed bool) {
		t.Helper()
		hash, err := d.CodeHash(ctx, root, 30)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.RecordEvidence(ctx, Evidence{Kind: KindFeature, ItemID: 2599, BatchID: 30, Gate: g, Passed: passed, Command: "gate " + string(g), CodeHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	move := func(to Status) error {
		_, err := d.ChangeItemStatus(ctx, StatusChange{Kind: KindFeature, IDs: []int{2599}, To: to, Actor: "verify", Root: root})
		return err
	}
	refusedWith := func(err error, want string) {
		t.Helper()
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want a refusal containing %q", err, want)
		}
	}
	for _, g := range []Gate{GateDependency, GateStub, GateBuild} {
		record(g, true)
	}
	if err := move(StatusComplete); err != nil {
		t.Fatalf("complete on dependency, stub and build: %v", err)
	}
	refusedWith(move(StatusVerified), "gates dependency,stub,build,coverage,mutation; none recorded for: 2599")
	record(GateCoverage, true)
	refusedWith(move(StatusVerified), "gates dependency,stub,build,coverage,mutation; none recorded for: 2599")
	record(GateMutation, false)
	refusedWith(move(StatusVerified), "latest run failed for: 2599")

	// Mutation evidence on older code judged other code: it must be taken
	// again on the new code.
	if err := os.WriteFile(filepath.Join(root, "raftport", "more.go"), []byte("package raftport\n\nfunc more() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, g := range []Gate{GateDependency, GateStub, GateBuild, GateCoverage} {
		record(g, true)
	}
	refusedWith(move(StatusVerified), "latest run failed for: 2599")
	record(GateMutation, true)
	if err := move(StatusVerified); err != nil {
		t.Fatalf("verified with every gate passing on the current code: %v", err)
	}
	it, err := d.Item(ctx, KindFeature, 2599)
	if err != nil || it.Status != StatusVerified {
		t.Fatalf("item = %+v, %v; want verified", it, err)
	}
}

func TestTestsVerifiedOnTheirOwnRun(t *testing.T) {
	got := RequiredGates(KindTest, StatusVerified)
	want := []Gate{GateDependency, GateStub, GateBuild, GateTest, GateMutation}
	if !slices.Equal(got, want) {
		t.Fatalf("RequiredGates(test, verified) = %v, want %v", got, want)
	}
	if opt := OptionalGates(KindTest, StatusVerified); len(opt) != 0 {
		t.Fatalf("tests have no opt-in gate, got %v", opt)
	}
	if got := RequiredGates(KindFeature, StatusComplete); slices.Contains(got, GateTest) || slices.Contains(got, GateCoverage) {
		t.Fatalf("complete must not need test evidence: %v", got)
	}
}
