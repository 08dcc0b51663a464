package db

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func batch(id int, status BatchStatus, deps ...int) Batch {
	return Batch{ID: id, Name: "b", GoFile: "x.go", Status: status, DependsOn: deps}
}

func feature(id, batch int, symbol string) Item {
	return Item{Kind: KindFeature, ID: id, BatchID: batch, GoFile: "x.go", GoSymbol: symbol, GoLineStart: 1, GoLineEnd: 2, Status: StatusDeferred, Reason: InitialReason}
}

func TestValidatePlanRefusesPlansThatCannotFinish(t *testing.T) {
	for _, tc := range []struct {
		name    string
		catalog Catalog
		// want is the one line of the refusal; empty for a valid plan.
		want string
	}{
		{"valid", Catalog{Batches: []Batch{batch(1, BatchPending), batch(2, BatchPending, 1)}, Items: []Item{feature(1, 1, "f"), feature(2, 2, "g")}, Calls: [][2]int{{2, 1}}}, ""},
		{"declared ahead of its items", Catalog{Batches: []Batch{batch(1, BatchPending), batch(2, BatchPending, 1)}, Items: []Item{feature(1, 1, "f")}}, ""},
		{"self dependency", Catalog{Batches: []Batch{batch(1, BatchPending, 1)}, Items: []Item{feature(1, 1, "f")}},
			"refused by rule plan-dependency: batch 1 depends on itself: 1"},
		{"unknown dependency", Catalog{Batches: []Batch{batch(1, BatchPending, 9)}, Items: []Item{feature(1, 1, "f")}},
			"refused by rule plan-dependency: batch 1 depends on batch 9, which the plan does not declare: 1"},
		{"cycle", Catalog{Batches: []Batch{batch(1, BatchPending), batch(2, BatchPending, 4), batch(3, BatchPending, 2), batch(4, BatchPending, 3, 1)}, Items: []Item{feature(1, 1, "f")}},
			"refused by rule plan-cycle: batches depend on each other in a cycle (2 -> 4 -> 3 -> 2), so none of them can start: 2,3,4"},
		{"complete with items still deferred", Catalog{Batches: []Batch{batch(1, BatchComplete)}, Items: []Item{feature(1, 1, "f"), feature(2, 1, "g")}},
			"refused by rule plan-status: batch 1 is complete but 2 of its 2 items are neither verified, n_a nor deferred with an explicit reason: 1"},
		{"complete with no items", Catalog{Batches: []Batch{batch(1, BatchPending), batch(2, BatchComplete)}, Items: []Item{feature(1, 1, "f")}},
			"refused by rule plan-status: batch 2 is complete but has no items; a batch with no items cannot be complete: 2"},
		{"started before its dependency", Catalog{Batches: []Batch{batch(1, BatchPending), batch(2, BatchInProgress, 1)}, Items: []Item{feature(1, 1, "f"), feature(2, 2, "g")}},
			"refused by rule plan-status: batch 2 is in_progress but depends on batch 1 (pending), which is not complete: 2"},
		{"duplicate symbol", Catalog{Batches: []Batch{batch(1, BatchPending)}, Items: []Item{feature(1, 1, "f"), feature(2, 1, "g"), feature(3, 1, "f")}},
			"refused by rule plan-duplicate: feature x.go f is listed as more than one feature: 1,3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePlan(&tc.catalog)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid plan refused: %v", err)
				}
				return
			}
			var refused *RefusedError
			if !errors.As(err, &refused) || err.Error() != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestValidatePlanBrokenReferences(t *testing.T) {
	one := []Batch{batch(1, BatchPending)}
	for _, tc := range []struct {
		catalog Catalog
		want    string
	}{
		{Catalog{Batches: append(one, batch(1, BatchPending)), Items: []Item{feature(1, 1, "f")}}, "declares batches more than once: 1"},
		{Catalog{Batches: one, Items: []Item{feature(1, 1, "f"), feature(1, 1, "g")}}, "lists feature IDs more than once: 1"},
		{Catalog{Batches: one, Items: []Item{feature(1, 2, "f")}}, "features in batches it does not declare: 1"},
		{Catalog{Batches: one, Items: []Item{feature(1, 1, "f")}, Calls: [][2]int{{1, 5}}}, "calls name features it does not list: 1 -> 5"},
		{Catalog{Batches: one, Items: []Item{feature(1, 1, "f"), feature(2, 1, "g")}, Calls: [][2]int{{1, 2}, {1, 2}}}, "lists calls more than once: 1 -> 2"},
	} {
		var bad *BadInputError
		if err := ValidatePlan(&tc.catalog); !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want bad input %q", err, tc.want)
		}
	}
}

func TestMergeCatalog(t *testing.T) {
	base := &Catalog{
		Batches: []Batch{batch(30, BatchComplete), batch(32, BatchPending, 30)},
		Items:   []Item{{Kind: KindFeature, ID: 1, BatchID: 30, GoFile: "x.go", GoSymbol: "f", Status: StatusVerified}},
	}
	add := func(b Batch, items ...Item) *Catalog { return &Catalog{Batches: []Batch{b}, Items: items} }
	// A declared batch without items takes the import, keeping its name and
	// dependencies when the import leaves them out.
	merged, err := MergeCatalog(base, add(Batch{ID: 32, Status: BatchPending}, feature(2, 32, "g")))
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Batches) != 2 || merged.Batches[1].Name != "b" || len(merged.Items) != 2 {
		t.Fatalf("merged = %+v", merged)
	}
	for _, tc := range []struct {
		add  *Catalog
		want string
	}{
		{add(batch(30, BatchPending), feature(2, 30, "g")), "refused by rule import-batch: batch 30 b already has 1 items"},
		{add(Batch{ID: 32, Name: "other", Status: BatchPending}, feature(2, 32, "g")), `refused by rule import-batch: batch 32 is declared as "b" depending on batch 30`},
		{add(batch(33, BatchPending), feature(1, 33, "g"), feature(2, 33, "h")), "refused by rule import-ids: feature IDs 1-2 would collide with features already listed: 1"},
		{add(batch(33, BatchPending), feature(5, 33, "f")), "refused by rule import-symbol: 1 symbols are already listed (x.go f is feature 1)"},
		{add(batch(33, BatchPending, 34), feature(5, 33, "g")), "refused by rule plan-dependency: batch 33 depends on batch 34, which the plan does not declare"},
	} {
		if _, err := MergeCatalog(base, tc.add); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestFormatIDRanges(t *testing.T) {
	if got := FormatIDRanges([]int{7, 1, 2, 3, 5, 3}); got != "1-3,5,7" {
		t.Fatalf("FormatIDRanges = %q", got)
	}
}

// The committed catalog survives a read and a write byte for byte, so an
// import into catalog/ changes only the rows it adds.
func TestWriteCatalogRoundTrip(t *testing.T) {
	c, err := ReadCatalog("../../catalog")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	if err := WriteCatalog(dir, c); err != nil {
		t.Fatal(err)
	}
	for _, name := range catalogFiles {
		want, err := os.ReadFile(filepath.Join("../../catalog", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs after a read and a write", name)
		}
	}
}

func TestAddCatalogToDatabase(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	before, err := d.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add := &Catalog{
		Batches: []Batch{{ID: 32, Status: BatchPending}},
		Items: []Item{feature(2797, 32, "(*jetStream).fresh"), feature(2798, 32, "helper"),
			{Kind: KindTest, ID: 2720, BatchID: 32, GoFile: "x_test.go", GoSymbol: "TestFresh", GoLineStart: 1, GoLineEnd: 3, Status: StatusDeferred, Reason: InitialReason}},
		Calls: [][2]int{{2797, 2798}, {2797, 2751}},
	}
	if err := d.AddCatalog(ctx, add, "importer", "imported from Go source"); err != nil {
		t.Fatal(err)
	}
	after, err := d.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(before.Items)+3 || len(after.Calls) != len(before.Calls)+2 || len(after.Batches) != len(before.Batches) {
		t.Fatalf("after the import: %d items, %d calls, %d batches", len(after.Items), len(after.Calls), len(after.Batches))
	}
	log, err := d.History(ctx, KindFeature, 2797)
	if err != nil || len(log) != 1 || log[0].Actor != "importer" || log[0].To != "deferred" {
		t.Fatalf("history of an imported feature = %+v, %v", log, err)
	}
	ready, err := d.ReadyBatches(ctx)
	if err != nil || len(ready) != 1 || ready[0].ID != 30 {
		t.Fatalf("ready = %+v, %v", ready, err)
	}
	// The same import again collides on every ID and symbol, and writes
	// nothing.
	var refused *RefusedError
	if err := d.AddCatalog(ctx, add, "importer", "again"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "import-batch") {
		t.Fatalf("second import: %v", err)
	}
	again, err := d.Catalog(ctx)
	if err != nil || len(again.Items) != len(after.Items) {
		t.Fatalf("refused import changed the database: %d items, %v", len(again.Items), err)
	}
}

// A batch with no items is never ready, and can neither start nor complete.
func TestEmptyBatchNeverReady(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	if _, err := d.sql.ExecContext(ctx, `UPDATE batches SET status = 'complete' WHERE id IN (30, 31)`); err != nil {
		t.Fatal(err)
	}
	ready, err := d.ReadyBatches(ctx)
	if err != nil || len(ready) != 0 {
		t.Fatalf("ready = %+v, %v; batch 32 has no items", ready, err)
	}
	var refused *RefusedError
	if err := d.StartBatch(ctx, 32, "tester"); !errors.As(err, &refused) || refused.Violations[0].Rule != "batch-empty" {
		t.Fatalf("start of an empty batch: %v", err)
	}
	if _, err := d.sql.ExecContext(ctx, `UPDATE batches SET status = 'in_progress' WHERE id = 32`); err != nil {
		t.Fatal(err)
	}
	if err := d.CompleteBatch(ctx, 32, "tester"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "batch 32 JS Cluster Meta has no items, so it cannot complete") {
		t.Fatalf("complete of an empty batch: %v", err)
	}
}
