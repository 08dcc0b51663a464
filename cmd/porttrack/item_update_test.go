package main

import (
	"context"
	"errors"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// expectRefused runs a batch-update that a rule must refuse, and checks the
// message and that the database is byte-for-byte unchanged in content.
func expectRefused(t *testing.T, te *testEnv, opts *itemUpdateOptions, wants ...string) {
	t.Helper()
	before := dump(t, te.DBPath)
	err := runItemUpdate(context.Background(), te.env, opts)
	var refused *db.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("batch-update %+v: %v, want a rule refusal", opts, err)
	}
	mustContain(t, err.Error(), wants...)
	if after := dump(t, te.DBPath); after != before {
		t.Fatalf("refused batch-update %+v changed the database", opts)
	}
}

func itemStatus(t *testing.T, te *testEnv, kind db.ItemKind, id int) (db.Status, string) {
	t.Helper()
	var it db.Item
	te.withDB(t, func(d *db.DB) {
		var err error
		if it, err = d.Item(context.Background(), kind, id); err != nil {
			t.Fatal(err)
		}
	})
	return it.Status, it.Reason
}

func TestUpdateDryRunWritesNothing(t *testing.T) {
	te := newTestEnv(t)
	before := dump(t, te.DBPath)
	if err := runItemUpdate(context.Background(), te.env, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2599-2601", Status: "stub"}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "Dry run, nothing written; would change 3 features", "2600", "--execute")
	if dump(t, te.DBPath) != before {
		t.Fatal("dry run changed the database")
	}
	update(t, te, db.KindFeature, "2599-2601", "stub", "")
	mustContain(t, te.out.String(), "Changed 3 features")
	for id := 2599; id <= 2601; id++ {
		if st, _ := itemStatus(t, te, db.KindFeature, id); st != db.StatusStub {
			t.Fatalf("feature %d is %s after execute, want stub", id, st)
		}
	}
}

func TestUpdateChunkRule(t *testing.T) {
	te := newTestEnv(t)
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2599-2614", Status: "stub", Execute: true},
		"refused by rule chunk: 16 IDs in one call, at most 15 allowed")
	update(t, te, db.KindFeature, "2599-2613", "stub", "")
	mustContain(t, te.out.String(), "Changed 15 features")
}

func TestUpdateUnknownIDs(t *testing.T) {
	te := newTestEnv(t)
	before := dump(t, te.DBPath)
	err := runItemUpdate(context.Background(), te.env, &itemUpdateOptions{Kind: db.KindTest, IDs: "2616,9999,2598", Status: "stub", Execute: true})
	var bad *db.BadInputError
	if !errors.As(err, &bad) {
		t.Fatalf("unknown IDs: %v, want bad input", err)
	}
	mustContain(t, err.Error(), "unknown test IDs: 2598,9999")
	if dump(t, te.DBPath) != before {
		t.Fatal("unknown IDs changed the database")
	}
}

func TestUpdateBatchScope(t *testing.T) {
	te := newTestEnv(t)
	// 2757 sits inside 31's range but belongs to batch 30.
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2756-2758", Status: "stub", Batch: 30, Execute: true},
		"refused by rule batch-scope: features not in batch 30: 2756,2758")
	update(t, te, db.KindFeature, "2757", "stub", "")
	if st, _ := itemStatus(t, te, db.KindFeature, 2757); st != db.StatusStub {
		t.Fatalf("2757 = %s, want stub", st)
	}
	if err := runItemUpdate(context.Background(), te.env, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2757", Status: "deferred", Override: "back out", Batch: 30, Execute: true}); err != nil {
		t.Fatalf("in-batch update with --batch: %v", err)
	}
}

func TestUpdateOverrideRule(t *testing.T) {
	te := newTestEnv(t)
	for _, status := range []string{"deferred", "n_a"} {
		expectRefused(t, te, &itemUpdateOptions{Kind: db.KindTest, IDs: "2616,2617", Status: status, Execute: true},
			"refused by rule override: moving to "+status+" needs an explicit reason (--override \"reason\"): 2616,2617")
	}
	update(t, te, db.KindTest, "2616", "n_a", "covered by TestNRGSimpleElection")
	if st, reason := itemStatus(t, te, db.KindTest, 2616); st != db.StatusNA || reason != "covered by TestNRGSimpleElection" {
		t.Fatalf("test 2616 = %s (%q)", st, reason)
	}
	update(t, te, db.KindTest, "2617", "deferred", "needs a cluster harness")
	if st, reason := itemStatus(t, te, db.KindTest, 2617); st != db.StatusDeferred || reason != "needs a cluster harness" {
		t.Fatalf("test 2617 = %s (%q)", st, reason)
	}
}

func TestUpdateBatchCanStartRule(t *testing.T) {
	te := newTinyEnv(t)
	// Batch 2 depends on batch 1, which is pending: even a stub is refused.
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindFeature, IDs: "20", Status: "stub", Execute: true},
		"refused by rule batch-can-start: batch 2 cannot start, it depends on batch 1 (pending); no item may change status: 20")
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindTest, IDs: "20", Status: "deferred", Override: "later", Execute: true},
		"batch-can-start")

	ctx := context.Background()
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatal(err)
	}
	update(t, te, db.KindFeature, "10,11", "n_a", "not ported")
	update(t, te, db.KindTest, "10", "n_a", "not ported")
	if err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatal(err)
	}
	update(t, te, db.KindFeature, "20", "stub", "")

	// A complete batch's items are frozen.
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindFeature, IDs: "10", Status: "stub", Execute: true},
		"refused by rule batch-complete: batch 1 is complete; its items are frozen: 10")
}

func TestUpdateEvidenceRule(t *testing.T) {
	te := newTinyEnv(t)
	complete := &itemUpdateOptions{Kind: db.KindFeature, IDs: "10,11", Status: "complete", Execute: true}

	expectRefused(t, te, complete, "refused by rule evidence: moving to complete needs a mapped target (feature map) first: 10,11")
	mapTiny(t, te)
	expectRefused(t, te, complete,
		"refused by rule evidence: moving to complete needs passing evidence for gates dependency,stub,build; none recorded for: 10,11")

	all := db.RequiredGates(db.KindFeature, db.StatusComplete)
	recordEvidence(t, te, db.KindFeature, 10, true, all...)
	recordEvidence(t, te, db.KindFeature, 11, true, all[:2]...)
	expectRefused(t, te, complete, "none recorded for: 11")

	recordEvidence(t, te, db.KindFeature, 11, false, db.GateBuild)
	expectRefused(t, te, complete, "latest run failed for: 11")

	recordEvidence(t, te, db.KindFeature, 11, true, db.GateBuild)
	te.writeFile(t, "pkg/extra.go", "package pkg\n\nfunc extra() {}\n")
	expectRefused(t, te, complete, "code changed since it was recorded for: 10,11")

	recordEvidence(t, te, db.KindFeature, 10, true, all...)
	recordEvidence(t, te, db.KindFeature, 11, true, all...)
	update(t, te, db.KindFeature, "10,11", "complete", "")

	// Verified asks for coverage (a feature's test evidence) on top of
	// complete's gates.
	verify := &itemUpdateOptions{Kind: db.KindFeature, IDs: "10", Status: "verified", Execute: true}
	expectRefused(t, te, verify, "moving to verified needs passing evidence for gates dependency,stub,build,coverage,mutation; none recorded for: 10")
	recordEvidence(t, te, db.KindFeature, 10, true, db.GateCoverage)
	expectRefused(t, te, verify, "moving to verified needs passing evidence for gates dependency,stub,build,coverage,mutation; none recorded for: 10")
	recordEvidence(t, te, db.KindFeature, 10, true, db.GateMutation)
	update(t, te, db.KindFeature, "10", "verified", "")

	var log []db.LogEntry
	te.withDB(t, func(d *db.DB) {
		var err error
		if log, err = d.History(context.Background(), db.KindFeature, 10); err != nil {
			t.Fatal(err)
		}
	})
	last := log[len(log)-1]
	if last.From != "complete" || last.To != "verified" || last.EvidenceID == nil {
		t.Fatalf("last log row = %+v, want complete -> verified linked to evidence", last)
	}

	// Tests need their own passing run, not coverage, to be verified.
	recordEvidence(t, te, db.KindTest, 10, true, db.RequiredGates(db.KindTest, db.StatusComplete)...)
	recordEvidence(t, te, db.KindTest, 10, true, db.GateCoverage)
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindTest, IDs: "10", Status: "verified", Execute: true},
		"gates dependency,stub,build,test,mutation; none recorded for: 10")
	recordEvidence(t, te, db.KindTest, 10, true, db.GateTest, db.GateMutation)
	update(t, te, db.KindTest, "10", "verified", "")
}

func TestUpdateReportsEveryRuleAtOnce(t *testing.T) {
	te := newTinyEnv(t)
	opts := &itemUpdateOptions{Kind: db.KindFeature, IDs: "10,20", Status: "deferred", Batch: 1, Execute: true}
	expectRefused(t, te, opts, "batch-scope", "override", "batch-can-start")
}

func TestUpdateBadStatusAndFlags(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	var bad *db.BadInputError
	if err := runItemUpdate(ctx, te.env, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2599", Status: "done"}); !errors.As(err, &bad) {
		t.Fatalf("unknown status: %v, want bad input", err)
	}
	var ue *usageError
	if err := runItemUpdate(ctx, te.env, &itemUpdateOptions{Kind: db.KindFeature, Status: "stub"}); !errors.As(err, &ue) {
		t.Fatalf("missing --ids: %v, want usage error", err)
	}
	if err := runItemUpdate(ctx, te.env, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2599"}); !errors.As(err, &ue) {
		t.Fatalf("missing --set-status: %v, want usage error", err)
	}
}
