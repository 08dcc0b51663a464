package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestItemListFilters(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	count := func(opts *itemListOptions) int {
		t.Helper()
		te.reset()
		opts.JSON = true
		if err := runItemList(ctx, te.env, opts); err != nil {
			t.Fatal(err)
		}
		var items []db.Item
		if err := json.Unmarshal(te.out.Bytes(), &items); err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	checks := []struct {
		opts *itemListOptions
		want int
	}{
		{&itemListOptions{Kind: db.KindFeature}, 198},
		{&itemListOptions{Kind: db.KindFeature, Batch: 31}, 53},
		{&itemListOptions{Kind: db.KindFeature, Batch: 31, Slice: "C"}, 17},
		{&itemListOptions{Kind: db.KindTest, Slice: "T2"}, 9},
		{&itemListOptions{Kind: db.KindTest, Status: "stub"}, 0},
		{&itemListOptions{Kind: db.KindTest, Batch: 30, Status: "deferred"}, 85},
	}
	for _, c := range checks {
		if got := count(c.opts); got != c.want {
			t.Errorf("list %+v: %d items, want %d", c.opts, got, c.want)
		}
	}
	te.reset()
	if err := runItemList(ctx, te.env, &itemListOptions{Kind: db.KindFeature, Batch: 31, Slice: "A"}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "(*raft).sendSnapshotToFollower", "18 features: deferred 18")

	var bad *db.BadInputError
	if err := runItemList(ctx, te.env, &itemListOptions{Kind: db.KindFeature, Status: "done"}); !errors.As(err, &bad) {
		t.Fatalf("list --status done: %v, want bad input", err)
	}
	if err := runItemList(ctx, te.env, &itemListOptions{Kind: db.KindFeature, Batch: 77}); !errors.As(err, &bad) {
		t.Fatalf("list --batch 77: %v, want bad input", err)
	}
}

func TestItemShow(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	if err := runItemShow(ctx, te.env, &itemShowOptions{Kind: db.KindFeature, ID: 11}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "feature 11: (*raft).vote", "Status:    deferred", "Reference: server/raft.go:6-9", "Evidence:  none recorded")

	mapTiny(t, te)
	recordEvidence(t, te, db.KindFeature, 11, false, db.GateBuild)
	if err := runItemShow(ctx, te.env, &itemShowOptions{Kind: db.KindFeature, ID: 11}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "Target:    pkg/raft.go (*raft).vote", "Latest evidence per gate", "build", "fail")

	te.reset()
	if err := runItemShow(ctx, te.env, &itemShowOptions{Kind: db.KindTest, ID: 20, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID       int           `json:"id"`
		Symbol   string        `json:"symbol"`
		Slice    string        `json:"slice"`
		Evidence []db.Evidence `json:"evidence"`
	}
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 20 || got.Symbol != "TestNRGVote" || got.Slice != "T1" || len(got.Evidence) != 0 {
		t.Fatalf("test show --json = %+v", got)
	}
	var bad *db.BadInputError
	if err := runItemShow(ctx, te.env, &itemShowOptions{Kind: db.KindTest, ID: 11}); !errors.As(err, &bad) {
		t.Fatalf("show unknown test: %v, want bad input", err)
	}
}

func TestFeatureDeps(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	if err := runFeatureDeps(ctx, te.env, &featureDepsOptions{ID: 11, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got featureDeps
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Callers) != 1 || got.Callers[0].ID != 20 || len(got.Callees) != 1 || got.Callees[0].ID != 10 || got.Callees[0].Status != db.StatusDeferred {
		t.Fatalf("deps of 11 = %+v", got)
	}
	te.reset()
	if err := runFeatureDeps(ctx, te.env, &featureDepsOptions{ID: 10}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "feature 10: (RaftState).String (deferred)", "Callers: 1", "(*raft).vote", "Callees: 0")

	real := newTestEnv(t)
	if err := runFeatureDeps(ctx, real.env, &featureDepsOptions{ID: 2751}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, real.out.String(), "(*raft).processAppendEntry", "Callers:", "Callees:")
	var bad *db.BadInputError
	if err := runFeatureDeps(ctx, real.env, &featureDepsOptions{ID: 1}); !errors.As(err, &bad) {
		t.Fatalf("deps of unknown feature: %v, want bad input", err)
	}
}

func TestHistory(t *testing.T) {
	te := newTinyEnv(t)
	ctx := context.Background()
	update(t, te, db.KindTest, "10", "stub", "")
	update(t, te, db.KindTest, "10", "deferred", "harness missing")
	te.reset()
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10, Test: true, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var log []db.LogEntry
	if err := json.Unmarshal(te.out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, l := range log {
		steps = append(steps, l.From+">"+l.To)
	}
	if strings.Join(steps, " ") != ">deferred deferred>stub stub>deferred" || log[2].Reason != "harness missing" || log[2].Actor != "tester" {
		t.Fatalf("history of test 10 = %+v", log)
	}
	// 10 is a feature and a test: history asks which instead of guessing.
	te.reset()
	var ue *usageError
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "say --feature or --test") {
		t.Fatalf("history of an ID that is both kinds: %v, want a usage error asking for --feature or --test", err)
	}
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10, Feature: true}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "feature 10: (RaftState).String, now deferred", "not yet ported")
	var bad *db.BadInputError
	if err := runHistory(ctx, te.env, &historyOptions{ID: 11, Test: true}); !errors.As(err, &bad) {
		t.Fatalf("history of unknown test: %v, want bad input", err)
	}

	if err := runBatchStart(ctx, te.env, &batchTransitionOptions{ID: 1}); err != nil {
		t.Fatal(err)
	}
	te.reset()
	if err := runHistory(ctx, te.env, &historyOptions{ID: 1, Batch: true}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "batch 1: One, now in_progress", "imported from catalog", "dependencies complete")
	if err := runHistory(ctx, te.env, &historyOptions{ID: 3, Batch: true}); !errors.As(err, &bad) {
		t.Fatalf("history of unknown batch: %v, want bad input", err)
	}
	if err := runHistory(ctx, te.env, &historyOptions{ID: 1, Batch: true, Test: true}); !errors.As(err, &ue) {
		t.Fatalf("history --test --batch: %v, want usage error", err)
	}
}

func TestReportSummary(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	if err := runReportSummary(ctx, te.env, &reportSummaryOptions{}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "Overall progress: 0/302 (0.0%)", "By status:", "By batch:", "Raft Part 2")

	update(t, te, db.KindFeature, "2599-2600", "n_a", "not part of the port")
	update(t, te, db.KindTest, "2616", "n_a", "duplicate")
	te.reset()
	if err := runReportSummary(ctx, te.env, &reportSummaryOptions{}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "Overall progress: 3/302 (1.0%)", "3/230 (1.3%)")

	te.reset()
	if err := runReportSummary(ctx, te.env, &reportSummaryOptions{JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got progressReport
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Done != 3 || got.Total != 302 || got.Features[db.StatusNA] != 2 || got.Tests[db.StatusDeferred] != 103 || len(got.Batches) != 3 {
		t.Fatalf("report --json = %+v", got)
	}
}
