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

// OpenReadOnly leaves every file as it found it: a missing one absent, an
// empty or foreign one untouched, a porting database byte for byte.
func TestOpenReadOnlyNeverWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var bad *BadInputError

	missing := filepath.Join(dir, "missing.db")
	if _, err := OpenReadOnly(ctx, missing); !errors.As(err, &bad) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("OpenReadOnly created a missing database")
	}
	for name, content := range map[string][]byte{
		"empty.db":   nil,
		"short.db":   []byte("SQLite"),
		"text.db":    []byte("not a database at all, just text that runs on for a while................"),
		"zeroes.db":  make([]byte, 4096),
		"foreign.db": append([]byte(sqliteHeader), make([]byte, 100)...),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, open := range []func(context.Context, string) (*DB, error){OpenReadOnly, Open} {
			if d, err := open(ctx, path); !errors.As(err, &bad) {
				if d != nil {
					d.Close()
				}
				t.Errorf("%s: %v, want bad input", name, err)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, content) {
				t.Errorf("%s changed: %d bytes before, %d after (%v)", name, len(content), len(after), err)
			}
		}
	}
	empty := filepath.Join(dir, "empty.db")
	if _, err := OpenReadOnly(ctx, empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty: %v", err)
	}

	path := copyOfTemplate(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Items(ctx, KindFeature, ItemFilter{BatchID: 31}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTarget(ctx, KindFeature, 2751, "x.go", "X"); err == nil {
		t.Error("a write through a read-only handle succeeded")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("reading changed the database (%v)", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("reading left %s%s behind (%v)", filepath.Base(path), suffix, err)
		}
	}
}

// A database older than this porttrack is read through an upgraded private
// copy; the file itself keeps its version and bytes.
func TestOpenReadOnlyReadsAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := copyOfTemplate(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	saved := migrations
	migrations = append(append([]string{}, saved...), `CREATE TABLE read_probe (x INTEGER)`)
	t.Cleanup(func() { migrations = saved })

	d, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var version, probes int
	if err := d.sql.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("copy at version %d (%v), want %d", version, err, len(migrations))
	}
	if err := d.sql.QueryRow("SELECT count(*) FROM read_probe").Scan(&probes); err != nil {
		t.Fatalf("the copy lacks the new table: %v", err)
	}
	features, err := d.Items(ctx, KindFeature, ItemFilter{})
	if err != nil || len(features) != 198 {
		t.Fatalf("%d features through the copy (%v), want 198", len(features), err)
	}
	if d.Path() != path {
		t.Errorf("Path() = %s, want the original %s", d.Path(), path)
	}
	copyDir := filepath.Dir(d.sqlPath(t))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the private copy %s outlived Close", copyDir)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("reading an older database changed it (%v)", err)
	}
}

// sqlPath is the file the handle reads, as SQLite reports it.
func (d *DB) sqlPath(t *testing.T) string {
	t.Helper()
	var seq int
	var name, file string
	if err := d.sql.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

func copyOfTemplate(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "porting.db")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
