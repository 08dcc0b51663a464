package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var template struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if template.dir != "" {
			os.RemoveAll(template.dir)
		}
		os.Exit(code)
	}))
}

// templatePath builds the repository's catalog into a database once per test
// binary; importing is the slow part of every test under -race.
func templatePath(t *testing.T) string {
	t.Helper()
	template.once.Do(func() {
		ctx := context.Background()
		cat, err := ReadCatalog("../../catalog")
		if err != nil {
			template.err = err
			return
		}
		if template.dir, err = os.MkdirTemp("", "porttrack-db-test"); err != nil {
			template.err = err
			return
		}
		template.path = filepath.Join(template.dir, "porting.db")
		d, err := Create(ctx, template.path)
		if err != nil {
			template.err = err
			return
		}
		template.err = errors.Join(d.Import(ctx, cat, "test"), d.Close())
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	return template.path
}

// newDB opens a private copy of the catalog database.
func newDB(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), copyOfTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestCatalogCounts(t *testing.T) {
	cat, err := ReadCatalog("../../catalog")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, it := range cat.Items {
		counts[fmt.Sprintf("%s/%d/%s", it.Kind, it.BatchID, it.Slice)]++
	}
	want := map[string]int{"feature/30/": 145, "feature/31/A": 18, "feature/31/B": 18, "feature/31/C": 17, "test/30/": 85, "test/31/T1": 10, "test/31/T2": 9}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d items, want %d", k, counts[k], v)
		}
	}
	if len(cat.Calls) != 407 || len(cat.Batches) != 3 {
		t.Fatalf("%d calls and %d batches, want 407 and 3", len(cat.Calls), len(cat.Batches))
	}
}

func TestOpenChecksFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var bad *BadInputError
	if _, err := Open(ctx, filepath.Join(dir, "missing.db")); !errors.As(err, &bad) {
		t.Fatalf("open missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Open created a missing database")
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, garbage); !errors.As(err, &bad) {
		t.Fatalf("open garbage: %v", err)
	}

	d := newDB(t)
	var version int
	if err := d.sql.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != SchemaVersion() {
		t.Fatalf("user_version = %d (%v), want %d", version, err, SchemaVersion())
	}
	var mode string
	if err := d.sql.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
	}
	var fk int
	if err := d.sql.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d (%v), want 1", fk, err)
	}

	if _, err := d.sql.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, d.Path()); !errors.As(err, &bad) {
		t.Fatalf("open a newer schema: %v, want bad input", err)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	d := newDB(t)
	var refused *RefusedError
	if _, err := Create(context.Background(), d.Path()); !errors.As(err, &refused) {
		t.Fatalf("create over existing: %v, want refusal", err)
	}
	cat, err := ReadCatalog("../../catalog")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Import(context.Background(), cat, "again"); !errors.As(err, &refused) {
		t.Fatalf("second import: %v, want refusal", err)
	}
}

func TestMigrateFromOlderVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	d, err := Create(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the file predates the last migration by undoing it.
	if _, err := d.sql.Exec("DROP TABLE ledger; DROP TABLE mutant_excuses; DROP TABLE status_log; DROP TABLE evidence; DROP TABLE calls; DROP TABLE tests; DROP TABLE features; DROP TABLE batch_deps; DROP TABLE batches; PRAGMA user_version = 0"); err != nil {
		t.Fatal(err)
	}
	if err := d.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Batches(ctx); err != nil {
		t.Fatalf("batches after re-migration: %v", err)
	}
	d.Close()
}

// Eight goroutines, each with its own database handle on one file, change
// disjoint features at once; busy_timeout and BEGIN IMMEDIATE must make all
// of them land.
func TestConcurrentHandlesAllLand(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := Open(ctx, d.Path())
			if err != nil {
				errs[i] = err
				return
			}
			defer h.Close()
			for round := 0; round < 3; round++ {
				id := 2599 + i*3 + round
				if _, err := h.ChangeItemStatus(ctx, StatusChange{Kind: KindFeature, IDs: []int{id}, To: StatusStub, Actor: fmt.Sprint("g", i)}); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	stubs, err := d.Items(ctx, KindFeature, ItemFilter{Status: StatusStub})
	if err != nil {
		t.Fatal(err)
	}
	if len(stubs) != writers*3 {
		t.Fatalf("%d stubs, want %d", len(stubs), writers*3)
	}
	whole, err := d.Checkpoint(ctx)
	if err != nil || !whole {
		t.Fatalf("checkpoint after writers: whole=%v err=%v", whole, err)
	}
	if info, err := os.Stat(d.Path() + "-wal"); err == nil && info.Size() != 0 {
		t.Fatalf("-wal holds %d bytes after a truncating checkpoint", info.Size())
	}
}

func TestTimestampsUseClock(t *testing.T) {
	d := newDB(t)
	ctx := context.Background()
	d.SetClock(func() time.Time { return time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC) })
	if _, err := d.ChangeItemStatus(ctx, StatusChange{Kind: KindTest, IDs: []int{2616}, To: StatusStub, Actor: "clock"}); err != nil {
		t.Fatal(err)
	}
	log, err := d.History(ctx, KindTest, 2616)
	if err != nil {
		t.Fatal(err)
	}
	if last := log[len(log)-1]; last.At != "2026-02-27T12:00:00Z" || last.Actor != "clock" || last.From != "deferred" {
		t.Fatalf("log row = %+v", last)
	}
}
