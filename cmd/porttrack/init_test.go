package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestInitBuildsCatalog(t *testing.T) {
	te := newTestEnv(t)
	ctx := context.Background()
	te.DBPath = filepath.Join(te.Root, "fresh.db")
	if err := runInit(ctx, te.env, &initOptions{CatalogDir: catalogDir}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, te.out.String(), "3 batches, 198 features, 104 tests, 407 calls")
	te.withDB(t, func(d *db.DB) {
		features, err := d.Items(ctx, db.KindFeature, db.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		tests, err := d.Items(ctx, db.KindTest, db.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		batches, err := d.Batches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(batches) != 3 || len(features) != 198 || len(tests) != 104 {
			t.Fatalf("got %d batches, %d features, %d tests; want 3, 198, 104", len(batches), len(features), len(tests))
		}
		for _, it := range append(features, tests...) {
			if it.Status != db.StatusDeferred || it.Reason != db.InitialReason {
				t.Fatalf("%s %d is %s (%q), want deferred (%q)", it.Kind, it.ID, it.Status, it.Reason, db.InitialReason)
			}
		}
		for _, b := range batches {
			if b.Status != db.BatchPending {
				t.Fatalf("batch %d is %s, want pending", b.ID, b.Status)
			}
		}
		log, err := d.History(ctx, db.KindFeature, 2751)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 1 || log[0].From != "" || log[0].To != "deferred" || log[0].Actor != "tester" {
			t.Fatalf("history of 2751 after init = %+v, want one import row", log)
		}
	})
	if _, err := os.Stat(te.DBPath + "-wal"); err == nil {
		t.Fatal("init left a -wal file behind; the database file alone must be whole")
	}
}

func TestInitRefusesExistingDatabase(t *testing.T) {
	te := newTestEnv(t)
	before := dump(t, te.DBPath)
	code, _, stderr := runCLI(t, te, "init", "--catalog", mustAbs(t, catalogDir))
	if code != exitRefused {
		t.Fatalf("exit = %d, want %d", code, exitRefused)
	}
	mustContain(t, stderr, "init-no-overwrite", "already exists")
	if dump(t, te.DBPath) != before {
		t.Fatal("refused init changed the existing database")
	}
}

func TestInitBadInput(t *testing.T) {
	dir := t.TempDir()
	env := &env{Out: os.Stdout, Err: os.Stderr, DBPath: filepath.Join(dir, "x.db"), Actor: "tester", Root: dir}
	ctx := context.Background()
	var ue *usageError
	if err := runInit(ctx, env, &initOptions{}); !errors.As(err, &ue) {
		t.Fatalf("init without --catalog: %v, want usage error", err)
	}
	var bad *db.BadInputError
	if err := runInit(ctx, env, &initOptions{CatalogDir: filepath.Join(dir, "missing")}); !errors.As(err, &bad) {
		t.Fatalf("init from a missing catalog: %v, want bad input", err)
	}
	broken := map[string]string{}
	for k, v := range tinyCatalog {
		broken[k] = v
	}
	// A feature in a batch the catalog does not declare fails the import
	// after the file was created; init must not leave that file behind.
	broken["catalog.tsv"] += "feature\t99\t7\t\tserver/raft.go\tf\t1\t2\n"
	if err := runInit(ctx, env, &initOptions{CatalogDir: writeCatalog(t, broken)}); !errors.As(err, &bad) {
		t.Fatalf("init from a catalog with an unknown batch: %v, want bad input", err)
	}
	if _, err := os.Stat(env.DBPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("failed init left %s behind (stat: %v)", env.DBPath, err)
	}
	broken["catalog.tsv"] = "kind\tid\n"
	if err := runInit(ctx, env, &initOptions{CatalogDir: writeCatalog(t, broken)}); !errors.As(err, &bad) {
		t.Fatalf("init from a catalog with a wrong header: %v, want bad input", err)
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
