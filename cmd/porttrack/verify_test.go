package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

func expectRefusal(t *testing.T, err error, wants ...string) {
	t.Helper()
	var refused *db.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("got %v, want a refusal", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q lacks %q", err, w)
		}
	}
}

func TestVerifyRecordsEvidenceAndFailsOnAFailingTest(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	// A planted failure: TestAdd now expects the wrong sum.
	te.writeFile(t, "calctest/calc_test.go", strings.Replace(fixtureTests, "got != 5", "got != 6", 1))

	err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "A"})
	// Add loses its only claiming test, and Sign, its caller, its dependency.
	expectRefusal(t, err, "refused by rule verify: features failing a gate: 1,2")
	err = runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "T1"})
	expectRefusal(t, err, "refused by rule verify: tests failing a gate: 101")
	out := te.out.String()
	mustContain(t, out, "Verifying 3 features and 0 tests of batch 1", "gate coverage: running", "GATE", "FAILING",
		"test 101 test: failed", "Recorded 15 evidence rows", "tree dirty (1 paths changed)")

	test := latest(t, te, db.KindTest, 101)
	if ev := test[db.GateTest]; ev.Passed || ev.ExitCode == 0 || !strings.Contains(ev.Command, "go test") || !ev.TreeDirty || len(ev.GitCommit) != 40 {
		t.Fatalf("test evidence = %+v, want a failed go test run on a dirty tree at a commit", ev)
	}
	if ev := latest(t, te, db.KindTest, 102)[db.GateTest]; !ev.Passed || ev.GoVersion == "" {
		t.Fatalf("TestSign evidence = %+v, want passed with the Go version", ev)
	}
	feature := latest(t, te, db.KindFeature, 1)
	if ev := feature[db.GateCoverage]; ev.Passed || !strings.Contains(ev.Detail, "claiming tests that failed, not counted: TestAdd") {
		t.Fatalf("coverage evidence = %+v, want refused for the failing suite", ev)
	}
	stub := feature[db.GateStub]
	if !stub.Passed || !strings.HasPrefix(stub.Command, "porttrack verify --batch 1 --slice A") {
		t.Fatalf("stub evidence = %+v, want passed and naming the porttrack command", stub)
	}
	var detail resultDetail
	if err := json.Unmarshal([]byte(feature[db.GateDependency].Detail), &detail); err != nil || len(detail.Dirty) != 1 || detail.Dirty[0] != "calctest/calc_test.go" {
		t.Fatalf("dependency detail = %+v (%v), want the dirty path listed", detail, err)
	}
	te.withDB(t, func(d *db.DB) {
		hash, err := d.CodeHash(ctx, te.Root, 1)
		if err != nil || stub.CodeHash != hash {
			t.Fatalf("evidence hash %s, current %s (%v)", stub.CodeHash, hash, err)
		}
	})
	if s, _ := itemStatus(t, te, db.KindFeature, 1); s != db.StatusDeferred {
		t.Fatalf("verify changed feature 1 to %s", s)
	}
}

func TestVerifyInput(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	var ue *usageError
	var bad *db.BadInputError
	for _, opts := range []*verifyOptions{{}, {Batch: 1, Mutants: -2}, {Batch: 1, Kind: "widget"}, {Batch: 1, IDs: "3-1"}, {Batch: 1, Slice: "Z"}} {
		if err := runVerify(ctx, te.env, opts); !errors.As(err, &ue) {
			t.Errorf("%+v: %v, want a usage error", opts, err)
		}
	}
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "1,99"}); !errors.As(err, &bad) || !strings.Contains(err.Error(), "99") {
		t.Errorf("unknown ID: %v, want bad input naming 99", err)
	}
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 7}); !errors.As(err, &bad) {
		t.Errorf("unknown batch: %v, want bad input", err)
	}
	te.withDB(t, func(d *db.DB) {
		if err := d.SetTarget(ctx, db.KindFeature, 3, "", ""); err != nil {
			t.Fatal(err)
		}
	})
	err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "A"})
	if !errors.As(err, &bad) || !strings.Contains(err.Error(), "cannot verify unmapped items of batch 1: features 3") {
		t.Fatalf("unmapped: %v", err)
	}
}

// A promotion needs the tree at a commit, then moves every item that passed
// every gate to verified (features via complete) in chunks the tracker
// accepts: the 19 passing features could not move in one call.
func TestVerifyPromote(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()

	te.writeFile(t, "notes.txt", "scratch\n")
	err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, Promote: true})
	expectRefusal(t, err, "refused by rule clean-tree", "notes.txt")
	if got := latest(t, te, db.KindFeature, 1); len(got) != 0 {
		t.Fatalf("a refused promotion recorded evidence: %v", got)
	}
	if err := os.Remove(filepath.Join(te.Root, "notes.txt")); err != nil {
		t.Fatal(err)
	}

	// Gen02 (feature 5) admits a shortcut; Gen01 (feature 4) calls it.
	gen, _ := genSource()
	te.writeFile(t, "calc/gen.go", strings.Replace(gen, "// Gen02 adds its offset.", "// Gen02 adds a fixed offset for now.", 1))
	commitAll(t, te.Root, "gen02 admits a shortcut")
	// Only porting.db changed since: still a clean tree.
	te.withDB(t, func(d *db.DB) {
		if _, err := d.RecordEvidence(ctx, db.Evidence{Kind: db.KindBatch, ItemID: 1, BatchID: 1, Gate: db.GateCheckpoint,
			Passed: true, Command: "porttrack checkpoint --batch 1", CodeHash: "sha256:earlier"}); err != nil {
			t.Fatal(err)
		}
	})
	if status := git(t, te.Root, "status", "--porcelain"); !strings.Contains(status, "porting.db") {
		t.Fatalf("porting.db should be modified, status:\n%s", status)
	}

	te.reset()
	err = runVerify(ctx, te.env, &verifyOptions{Batch: 1, Promote: true})
	expectRefusal(t, err, "features failing a gate: 4,5")
	out := te.out.String()
	mustContain(t, out, "feature 5 stubscan:", "for now", "feature 4 dependency: callee 5 Gen02 fails its gates in this run",
		"Promoted: 42 status changes", "Not promoted, failed a gate: features 4,5", "clean tree")

	for id := 1; id <= 21; id++ {
		want := db.StatusVerified
		if id == 4 || id == 5 {
			want = db.StatusDeferred
		}
		if s, _ := itemStatus(t, te, db.KindFeature, id); s != want {
			t.Errorf("feature %d is %s, want %s", id, s, want)
		}
	}
	for id := 101; id <= 104; id++ {
		if s, _ := itemStatus(t, te, db.KindTest, id); s != db.StatusVerified {
			t.Errorf("test %d is %s, want verified", id, s)
		}
	}

	// Each change links the evidence it rests on: complete the newest of
	// dependency, stub and build; verified the mutation run, the last gate.
	ev := latest(t, te, db.KindFeature, 6)
	var log []db.LogEntry
	te.withDB(t, func(d *db.DB) {
		if log, err = d.History(ctx, db.KindFeature, 6); err != nil {
			t.Fatal(err)
		}
	})
	if len(log) != 3 || log[1].To != "complete" || log[2].To != "verified" || log[1].EvidenceID == nil || log[2].EvidenceID == nil {
		t.Fatalf("history of feature 6 = %+v", log)
	}
	if *log[1].EvidenceID != ev[db.GateBuild].ID || *log[2].EvidenceID != ev[db.GateMutation].ID || log[2].Reason != promotionReason {
		t.Fatalf("links %d, %d; want build %d and mutation %d", *log[1].EvidenceID, *log[2].EvidenceID, ev[db.GateBuild].ID, ev[db.GateMutation].ID)
	}

	// A second promotion skips what is verified and moves nothing else.
	te.reset()
	err = runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "T1", Promote: true})
	if err != nil {
		t.Fatalf("re-verify T1: %v\n%s", err, te.out)
	}
	mustContain(t, te.out.String(), "Promoted: 0 status changes")
}

func TestPromotionStepsChunkAndOrder(t *testing.T) {
	run := &gateRun{Verdicts: map[gates.ItemKey]bool{}}
	for id := 1; id <= 20; id++ {
		it := db.Item{Kind: db.KindFeature, ID: id, Status: db.StatusDeferred}
		if id == 20 {
			it.Status = db.StatusComplete
		}
		run.Items = append(run.Items, it)
		run.Verdicts[itemKey(it)] = id != 3
	}
	run.Items = append(run.Items, db.Item{Kind: db.KindTest, ID: 5, Status: db.StatusVerified}, db.Item{Kind: db.KindTest, ID: 6, Status: db.StatusStub})
	run.Verdicts[itemKey(run.Items[20])] = true
	run.Verdicts[itemKey(run.Items[21])] = true
	steps := promotionSteps(run)
	if len(steps) != 3 || steps[0].To != db.StatusComplete || len(steps[0].IDs) != 18 || len(steps[1].IDs) != 19 || steps[2].Kind != db.KindTest || len(steps[2].IDs) != 1 || steps[2].IDs[0] != 6 {
		t.Fatalf("steps = %+v", steps)
	}
}

// SumTo (feature 3) calls Triple (feature 30) of batch 2, which cannot start
// before batch 1 completes: Triple is judged by its code, not its status.
func TestVerifyJudgesLaterCalleesByTheirCode(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "3", Kind: "feature"}); err != nil {
		t.Fatalf("verify SumTo: %v\n%s", err, te.out)
	}
	if ev := latest(t, te, db.KindFeature, 3)[db.GateDependency]; !ev.Passed || !strings.Contains(ev.Summary, "1 callees scheduled later pass the stub scan") {
		t.Fatalf("dependency evidence = %+v", ev)
	}

	calc := readFile(t, te, "calc/calc.go")
	te.writeFile(t, "calc/calc.go", strings.Replace(calc, "func Triple(n int) int {\n\treturn n * 3\n}", "func Triple(n int) int {\n\tpanic(\"not implemented\")\n}", 1))
	te.reset()
	err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "3", Kind: "feature"})
	expectRefusal(t, err, "features failing a gate: 3")
	mustContain(t, te.out.String(), "feature 3 dependency: callee 30 Triple of later batch 2 is deferred and fails the stub scan")
}

func TestVerifyRecordsOptInMutation(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "6", Kind: "feature", Mutants: 2}); err != nil {
		t.Fatalf("verify Gen03 with mutants: %v\n%s", err, te.out)
	}
	ev := latest(t, te, db.KindFeature, 6)[db.GateMutation]
	var detail resultDetail
	if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || !ev.Passed || detail.KillRate == nil || *detail.KillRate != 1 {
		t.Fatalf("mutation evidence = %+v, detail %+v (%v); want passed with kill rate 1", ev, detail, err)
	}
	// The kill matrix names the mutant and the test that killed it (the run
	// may have it from the cache of an earlier test's identical run).
	mustContain(t, ev.Detail, "arith: `n + 3` -\\u003e `n - 3`", `"outcome":"killed"`, `"killed_by":["calctest.TestGen"]`)
	if stub := latest(t, te, db.KindFeature, 6)[db.GateStub]; stub.Command != "porttrack verify --batch 1 --ids 6 --kind feature --mutants 2" {
		t.Fatalf("stub evidence command = %q", stub.Command)
	}
}

// Add (feature 1, group A) calls Gen18 (feature 21, group B of the same
// batch). Verifying group A first, as the plan does, judges Gen18 by its
// code; a stub there fails Add.
func TestVerifyJudgesLaterGroupCalleesByTheirCode(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "1", Kind: "feature"}); err != nil {
		t.Fatalf("verify Add: %v\n%s", err, te.out)
	}
	if ev := latest(t, te, db.KindFeature, 1)[db.GateDependency]; !ev.Passed || !strings.Contains(ev.Summary, "1 callees scheduled later pass the stub scan") {
		t.Fatalf("dependency evidence = %+v", ev)
	}

	gen := readFile(t, te, "calc/gen.go")
	stubbed := strings.Replace(gen, "func Gen18(n int) int {\n\treturn n + 18\n}", "func Gen18(n int) int {\n\tpanic(\"not implemented\")\n}", 1)
	if stubbed == gen {
		t.Fatal("fixture changed: Gen18 not found")
	}
	te.writeFile(t, "calc/gen.go", stubbed)
	te.reset()
	err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "1", Kind: "feature"})
	expectRefusal(t, err, "features failing a gate: 1")
	mustContain(t, te.out.String(), "feature 1 dependency: callee 21 Gen18 of later group B of batch 1 is deferred and fails the stub scan")
}
