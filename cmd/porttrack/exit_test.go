package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExitCodes(t *testing.T) {
	te := newTestEnv(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"batch", "show", "31"}, exitOK, "Batch 31: Raft Part 2"},
		{[]string{"batch", "list", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{[]string{"batch", "show"}, exitUsage, "accepts 1 arg"},
		{[]string{"batch", "show", "x"}, exitUsage, `invalid ID "x"`},
		{[]string{"batch", "frobnicate"}, exitUsage, "unknown command"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{}, exitUsage, "missing command"},
		{[]string{"feature", "batch-update", "--ids", "2599", "--set-status", "stub", "--batch", "x"}, exitUsage, "invalid argument"},
		{[]string{"feature", "batch-update", "--ids", "2599-2620", "--set-status", "stub"}, exitRefused, "refused by rule chunk"},
		{[]string{"feature", "batch-update", "--ids", "2751", "--set-status", "stub"}, exitRefused, "refused by rule batch-can-start"},
		{[]string{"feature", "batch-update", "--ids", "1", "--set-status", "stub"}, exitUsage, "unknown feature IDs: 1"},
		{[]string{"batch", "start", "31"}, exitRefused, "refused by rule batch-can-start"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, te, c.args...)
		if code != c.code {
			t.Errorf("porttrack %v: exit %d, want %d (stderr %q)", c.args, code, c.code, stderr)
		}
		got := stdout
		if c.code != exitOK {
			got = stderr
		}
		mustContain(t, got, c.want)
	}
}

func TestMissingAndCorruptDatabase(t *testing.T) {
	te := newTestEnv(t)
	te.DBPath = filepath.Join(te.Root, "absent.db")
	code, _, stderr := runCLI(t, te, "batch", "list")
	if code != exitUsage {
		t.Fatalf("missing db: exit %d, want %d", code, exitUsage)
	}
	mustContain(t, stderr, "absent.db does not exist")
	if _, err := os.Stat(te.DBPath); !os.IsNotExist(err) {
		t.Fatal("reading a missing database created it")
	}

	te.DBPath = filepath.Join(te.Root, "corrupt.db")
	if err := os.WriteFile(te.DBPath, []byte("this is not a database, just some text padding it out past a header........................................"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, te, "report", "summary")
	if code != exitUsage {
		t.Fatalf("corrupt db: exit %d, want %d (stderr %q)", code, exitUsage, stderr)
	}
	mustContain(t, stderr, "corrupt.db is corrupt or not a SQLite file")

	te.DBPath = filepath.Join(te.Root, "empty.db")
	if err := os.WriteFile(te.DBPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, te, "batch", "list")
	if code != exitUsage {
		t.Fatalf("empty db: exit %d, want %d", code, exitUsage)
	}
	mustContain(t, stderr, "not a porttrack database")
}
