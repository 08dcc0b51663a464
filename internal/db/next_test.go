package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// nextCatalog: batch 1 is in progress; 2 depends on it; 3 can start; 4 has
// no items; 5 is complete.
//
//	1 a -> 2 b <-> 3 c            (a call cycle)
//	4 d -> 5 e (deferred on purpose);  6 f -> 4 d
//	7 g -> 20 h of batch 2        (scheduled later)
//	9 j -> 8 i (verified)
//	10 k (group A) -> 11 l (group B)
//	30 m of batch 3 -> 1 a        (across batches)
func nextCatalog() *Catalog {
	f := func(id, batch int, slice, symbol string, status Status, reason string) Item {
		return Item{Kind: KindFeature, ID: id, BatchID: batch, Slice: slice, GoSymbol: symbol, Status: status, Reason: reason}
	}
	open := func(id, batch int, slice, symbol string) Item {
		return f(id, batch, slice, symbol, StatusDeferred, InitialReason)
	}
	return &Catalog{
		Batches: []Batch{batch(1, BatchInProgress), batch(2, BatchPending, 1), batch(3, BatchPending), batch(4, BatchPending), batch(5, BatchComplete)},
		Items: []Item{
			open(1, 1, "", "a"), open(2, 1, "", "b"), f(3, 1, "", "c", StatusStub, ""), open(4, 1, "", "d"),
			f(5, 1, "", "e", StatusDeferred, "needs a harness"), open(6, 1, "", "f"), open(7, 1, "", "g"),
			f(8, 1, "", "i", StatusVerified, ""), open(9, 1, "", "j"), open(10, 1, "A", "k"), open(11, 1, "B", "l"),
			open(20, 2, "", "h"), open(30, 3, "", "m"), f(40, 5, "", "done", StatusVerified, ""),
			{Kind: KindTest, ID: 1, BatchID: 1, Slice: "T1", GoSymbol: "TestA", Status: StatusDeferred, Reason: InitialReason},
			{Kind: KindTest, ID: 2, BatchID: 3, GoSymbol: "TestM", Status: StatusComplete},
		},
		Calls: [][2]int{{1, 2}, {2, 3}, {3, 2}, {4, 5}, {6, 4}, {7, 20}, {9, 8}, {10, 11}, {30, 1}, {1, 1}},
	}
}

func order(items []NextItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s %d", it.Kind, it.ID))
	}
	return out
}

func whyOf(t *testing.T, items []NextItem, kind ItemKind, id int) string {
	t.Helper()
	for _, it := range items {
		if it.Kind == kind && it.ID == id {
			return it.Why
		}
	}
	t.Fatalf("%s %d not listed", kind, id)
	return ""
}

func TestPlanNextOrdersCalleesFirst(t *testing.T) {
	plan := PlanNext(nextCatalog(), 0, 0)
	want := []string{"feature 2", "feature 3", "feature 1", "feature 7", "feature 9", "feature 10", "feature 11", "test 1", "feature 30", "test 2"}
	if got := order(plan.Next); !slices.Equal(got, want) {
		t.Fatalf("next = %v\nwant %v", got, want)
	}
	if plan.Total != len(want) || plan.Deferred != 1 || !slices.Equal(plan.Complete, []int{5}) {
		t.Fatalf("total %d, deferred %d, complete %v", plan.Total, plan.Deferred, plan.Complete)
	}
	for _, tc := range []struct {
		kind ItemKind
		id   int
		want string
	}{
		{KindFeature, 2, "in a call cycle of 2 features (it calls 3 of them)"},
		{KindFeature, 3, "stub: finish the port, then verify; in a call cycle of 2 features (it calls 2 of them)"},
		{KindFeature, 1, "not yet ported; after its callee 2, earlier in this list"},
		{KindFeature, 7, "callee 20 comes later in the plan, judged by its code"},
		{KindFeature, 9, "its callee is finished"},
		{KindFeature, 10, "callee 11 comes later in the plan"},
		{KindFeature, 11, "calls no other feature"},
		{KindFeature, 30, "after its callee 1, earlier in this list"},
		{KindTest, 1, "test of batch 1 wave T1; after the batch's features, the last of them 11"},
		{KindTest, 2, "test of batch 3; after the batch's features, the last of them 30"},
	} {
		if got := whyOf(t, plan.Next, tc.kind, tc.id); !strings.Contains(got, tc.want) {
			t.Errorf("why of %s %d = %q, want it to say %q", tc.kind, tc.id, got, tc.want)
		}
	}
	if got := order(plan.Blocked); !slices.Equal(got, []string{"feature 4", "feature 6"}) {
		t.Fatalf("blocked = %v", got)
	}
	if got := whyOf(t, plan.Blocked, KindFeature, 4); got != "callee 5 e is deferred on purpose (porttrack feature show 5 says why)" {
		t.Errorf("why 4 is blocked: %q", got)
	}
	if got := whyOf(t, plan.Blocked, KindFeature, 6); !strings.HasPrefix(got, "waits for callee 4 d, which is blocked (callee 5 e") {
		t.Errorf("why 6 is blocked: %q", got)
	}
	var batches []string
	for _, b := range plan.BlockedBatches {
		batches = append(batches, fmt.Sprintf("%d: %s", b.ID, b.Why))
	}
	if want := []string{"2: waits for batch 1 (in_progress)", "4: has no items yet; import them (porttrack import go --dir DIR --batch 4)"}; !slices.Equal(batches, want) {
		t.Fatalf("blocked batches = %v\nwant %v", batches, want)
	}
	callees := plan.Next[4].Callees
	if len(callees) != 1 || callees[0] != (Callee{ID: 8, Symbol: "i", BatchID: 1, Status: StatusVerified}) {
		t.Fatalf("callees of 9 = %+v", callees)
	}
}

func TestPlanNextBatchAndLimit(t *testing.T) {
	plan := PlanNext(nextCatalog(), 3, 0)
	if got := order(plan.Next); !slices.Equal(got, []string{"feature 30", "test 2"}) || len(plan.BlockedBatches) != 0 || len(plan.Complete) != 0 {
		t.Fatalf("batch 3: next %v, blocked batches %v, complete %v", got, plan.BlockedBatches, plan.Complete)
	}
	plan = PlanNext(nextCatalog(), 2, 0)
	if len(plan.Next) != 0 || len(plan.BlockedBatches) != 1 || plan.BlockedBatches[0].Features != 1 {
		t.Fatalf("batch 2: %+v", plan)
	}
	plan = PlanNext(nextCatalog(), 0, 3)
	if len(plan.Next) != 3 || plan.Total != 10 {
		t.Fatalf("limit 3: %d listed of %d", len(plan.Next), plan.Total)
	}
}

// On the repository's catalog freshly imported, batch 30 can start and
// comes callees first; batches 31 and 32 wait.
func TestNextOnFreshCatalog(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	plan, err := d.Next(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Total != 230 || len(plan.BlockedBatches) != 2 || len(plan.Blocked) != 0 {
		t.Fatalf("fresh: %d to take, blocked batches %+v, blocked %d", plan.Total, plan.BlockedBatches, len(plan.Blocked))
	}
	seen := map[int]bool{}
	calls, err := d.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	callees := map[int][]int{}
	for _, c := range calls.Calls {
		callees[c[0]] = append(callees[c[0]], c[1])
	}
	batchOf := map[int]int{}
	for _, it := range calls.Items {
		if it.Kind == KindFeature {
			batchOf[it.ID] = it.BatchID
		}
	}
	for _, it := range plan.Next {
		if it.Kind != KindFeature {
			continue
		}
		for _, c := range callees[it.ID] {
			if batchOf[c] == 30 && !seen[c] && it.CycleSize == 0 {
				t.Errorf("feature %d comes before its callee %d", it.ID, c)
			}
		}
		seen[it.ID] = true
	}
	if _, err := d.Next(ctx, 99, 0); err == nil {
		t.Fatal("next --batch 99 on a plan without it: no error")
	}
}
