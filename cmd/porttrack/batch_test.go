package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestBatchShow31(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	if err := runBatchShow(ctx, te.env, &batchShowOptions{ID: 31}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(),
		"Batch 31: Raft Part 2", "Status:      pending", "Go file:     server/raft.go", "Depends on:  30", "Gates:       32",
		"Features:    53 (deferred 53)", "Tests:       19 (deferred 19)",
		"Features, group A: 18 (deferred 18)", "Features, group B: 18 (deferred 18)", "Features, group C: 17 (deferred 17)",
		"Tests, wave T1: 10 (deferred 10)", "Tests, wave T2: 9 (deferred 9)",
		"(*raft).processAppendEntry")

	te.reset()
	if err := runBatchShow(ctx, te.env, &batchShowOptions{ID: 31, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID        int    `json:"id"`
		Name      string `json:"name"`
		Status    string `json:"status"`
		GoFile    string `json:"go_file"`
		DependsOn []int  `json:"depends_on"`
		Features  []struct {
			ID     int    `json:"id"`
			Symbol string `json:"symbol"`
			Slice  string `json:"slice"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"features"`
		Tests []struct {
			ID    int    `json:"id"`
			Slice string `json:"slice"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatalf("batch show --json: %v\n%s", err, te.out)
	}
	if got.ID != 31 || got.Name != "Raft Part 2" || got.Status != "pending" || got.GoFile != "server/raft.go" ||
		len(got.DependsOn) != 1 || got.DependsOn[0] != 30 || len(got.Features) != 53 || len(got.Tests) != 19 {
		t.Fatalf("batch show --json = %+v", got)
	}
	slices := map[string]int{}
	for _, f := range got.Features {
		slices[f.Slice]++
	}
	for _, tt := range got.Tests {
		slices[tt.Slice]++
	}
	if slices["A"] != 18 || slices["B"] != 18 || slices["C"] != 17 || slices["T1"] != 10 || slices["T2"] != 9 {
		t.Fatalf("slice counts = %v", slices)
	}
	if f := got.Features[0]; f.ID != 2733 || f.Symbol != "(*raft).sendSnapshotToFollower" || f.Status != "deferred" || f.Reason != "not yet ported" {
		t.Fatalf("first feature = %+v", f)
	}

	var bad *db.BadInputError
	if err := runBatchShow(ctx, te.env, &batchShowOptions{ID: 99}); !errors.As(err, &bad) {
		t.Fatalf("show unknown batch: %v, want bad input", err)
	}
}

func TestBatchList(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	if err := runBatchList(ctx, te.env, &batchListOptions{}); err != nil {
		t.Fatal(err)
	}
	var row31 string
	for _, line := range strings.Split(te.out.String(), "\n") {
		if strings.Contains(line, "Raft Part 2") {
			row31 = line
		}
	}
	cells := regexp.MustCompile(`  +`).Split(strings.TrimSpace(row31), -1)
	want := []string{"31", "Raft Part 2", "pending", "53 deferred", "19 deferred", "30", "32"}
	if strings.Join(cells, ";") != strings.Join(want, ";") {
		t.Fatalf("batch 31 row = %q, want cells %q", cells, want)
	}

	te.reset()
	if err := runBatchList(ctx, te.env, &batchListOptions{JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		ID       int            `json:"id"`
		Gates    []int          `json:"gates"`
		Features map[string]int `json:"features"`
	}
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].ID != 31 || len(got[1].Gates) != 1 || got[1].Gates[0] != 32 || got[0].Features["deferred"] != 145 {
		t.Fatalf("batch list --json = %+v", got)
	}
}

func TestBatchStartGate(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	before := dump(t, te.DBPath)
	err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 31})
	var refused *db.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("start 31 with 30 pending: %v, want refusal", err)
	}
	mustContain(t, err.Error(), "batch-can-start", "batch 30 Raft Part 1 is pending with 145 features and 85 tests not verified or n_a")
	if dump(t, te.DBPath) != before {
		t.Fatal("refused start wrote to the database")
	}

	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 30}); err != nil {
		t.Fatalf("start 30 (no dependencies): %v", err)
	}
	mustContain(t, te.out.String(), "Batch 30 is in_progress")
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 30}); !errors.As(err, &refused) {
		t.Fatalf("starting 30 twice: %v, want refusal", err)
	}
	var bad *db.BadInputError
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 99}); !errors.As(err, &bad) {
		t.Fatalf("start unknown batch: %v, want bad input", err)
	}
}

func TestBatchReadyAndLifecycle(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	readyIDs := func() []int {
		t.Helper()
		te.reset()
		if err := runBatchReady(ctx, te.env, &batchReadyOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		var got []struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		ids := []int{}
		for _, b := range got {
			ids = append(ids, b.ID)
		}
		return ids
	}
	if got := readyIDs(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("ready at start = %v, want [1]", got)
	}
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if got := readyIDs(); len(got) != 0 {
		t.Fatalf("ready with 1 in progress = %v, want none", got)
	}

	// Items still deferred since the import have no explicit reason.
	before := dump(t, te.DBPath)
	err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 1})
	var refused *db.RefusedError
	if !errors.As(err, &refused) || len(refused.Violations) != 2 {
		t.Fatalf("complete 1 with import-deferred items: %v, want two refusals", err)
	}
	mustContain(t, err.Error(), "features neither verified nor deferred/n_a with an explicit reason: 10,11", "tests neither")
	if dump(t, te.DBPath) != before {
		t.Fatal("refused complete wrote to the database")
	}

	update(t, te, db.KindFeature, "10", "n_a", "not part of the port")
	update(t, te, db.KindFeature, "11", "stub", "")
	update(t, te, db.KindTest, "10", "deferred", "needs a cluster harness")
	err = runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 1})
	if !errors.As(err, &refused) || len(refused.Violations) != 1 {
		t.Fatalf("complete 1 with a stub: %v, want one refusal", err)
	}
	mustContain(t, err.Error(), "features neither verified nor deferred/n_a with an explicit reason: 11")
	update(t, te, db.KindFeature, "11", "deferred", "blocked on transport")
	if err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatalf("complete 1 with every item explained: %v", err)
	}
	if got := readyIDs(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("ready after 1 completes = %v, want [2]", got)
	}
	if err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 2}); !errors.As(err, &refused) {
		t.Fatalf("complete a pending batch: %v, want refusal", err)
	}
}

// update runs an executed batch-update and fails the test if it is refused.
func update(t *testing.T, te *testEnv, kind db.ItemKind, ids, status, override string) {
	t.Helper()
	if err := runItemUpdate(context.Background(), te.env, &itemUpdateOptions{
		Kind: kind, IDs: ids, Status: status, Override: override, Execute: true,
	}); err != nil {
		t.Fatalf("%s batch-update %s -> %s: %v", kind, ids, status, err)
	}
}

// The design's checkpoint protocol: a batch with verified items completes
// only after a passing checkpoint of every group or wave they belong to, and
// only while its latest checkpoint passed.
func TestBatchCompleteNeedsCheckpoints(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	mapTiny(t, te)
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatal(err)
	}
	verifyTiny(t, te, db.KindFeature, "10,11")
	verifyTiny(t, te, db.KindTest, "10")

	completeRefused := func(id int, want string) {
		t.Helper()
		before := dump(t, te.DBPath)
		err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: id})
		var refused *db.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("complete %d: %v, want a refusal containing %q", id, err, want)
		}
		mustContain(t, err.Error(), "batch-checkpoint", want)
		if dump(t, te.DBPath) != before {
			t.Fatal("refused complete wrote to the database")
		}
	}
	completeRefused(1, "batch 1 has verified items but no checkpoint")
	passing := recordCheckpoint(t, te, 1, "", true)
	failing := recordCheckpoint(t, te, 1, "", false)
	completeRefused(1, fmt.Sprintf("the latest checkpoint of batch 1 (evidence %d) failed", failing))
	if failing <= passing {
		t.Fatalf("evidence IDs %d then %d are not increasing", passing, failing)
	}
	recordCheckpoint(t, te, 1, "", true)
	if err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatalf("complete 1 after a passing checkpoint: %v", err)
	}

	// Batch 2 has a group A feature and a wave T1 test.
	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 2}); err != nil {
		t.Fatal(err)
	}
	verifyTiny(t, te, db.KindFeature, "20")
	verifyTiny(t, te, db.KindTest, "20")
	recordCheckpoint(t, te, 2, "A", true)
	completeRefused(2, "batch 2 has verified items in slices without a passing checkpoint: T1")
	recordCheckpoint(t, te, 2, "T1", false)
	completeRefused(2, "the latest checkpoint of batch 2 (evidence")
	recordCheckpoint(t, te, 2, "T1", true)
	if err := runBatchComplete(ctx, te.env, &batchTransitionOptions{ID: 2}); err != nil {
		t.Fatalf("complete 2 after checkpoints of A and T1: %v", err)
	}
}

// verifyTiny records passing evidence for the items and moves them to
// complete, then verified, through batch-update.
func verifyTiny(t *testing.T, te *testEnv, kind db.ItemKind, ids string) {
	t.Helper()
	for _, s := range strings.Split(ids, ",") {
		id, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		recordEvidence(t, te, kind, id, true, db.RequiredGates(kind, db.StatusVerified)...)
	}
	update(t, te, kind, ids, "complete", "")
	update(t, te, kind, ids, "verified", "")
}

// recordCheckpoint stores a checkpoint outcome for a batch as porttrack
// checkpoint records it, and returns its evidence ID.
func recordCheckpoint(t *testing.T, te *testEnv, batchID int, slice string, passed bool) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	te.withDB(t, func(d *db.DB) {
		hash, err := d.CodeHash(ctx, te.Root, batchID)
		if err != nil {
			t.Fatal(err)
		}
		detail, err := json.Marshal(checkpointDetail{Slice: slice})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := d.RecordEvidence(ctx, db.Evidence{Kind: db.KindBatch, ItemID: batchID, BatchID: batchID,
			Gate: db.GateCheckpoint, Passed: passed, Command: "porttrack checkpoint", Detail: string(detail), CodeHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		id = ids[0]
	})
	return id
}
