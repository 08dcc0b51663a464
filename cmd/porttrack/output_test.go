package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

// newShippedEnv is a command environment on a copy of the committed
// database, with its verified items and their evidence.
func newShippedEnv(t *testing.T) *testEnv {
	t.Helper()
	te := newTestEnv(t)
	copyFile(t, shippedDB, te.DBPath)
	return te
}

// On a pipe the readable output is what an 80-column terminal shows: no
// line is wider, whatever the stored text, and --wide gives it whole.
func TestReadableOutputFitsEightyColumns(t *testing.T) {
	te := newShippedEnv(t)
	t.Setenv("COLUMNS", "")
	commands := [][]string{
		{"batch", "show", "31"},
		{"feature", "show", "2751"},
		{"history", "2751"},
		{"history", "--test", "2626"},
		{"history", "--batch", "31"},
		{"batch", "list"},
		{"batch", "ready"},
		{"report", "summary"},
		{"feature", "list", "--batch", "31"},
		{"test", "show", "2626"},
		{"feature", "deps", "2751"},
		{"next"},
		{"history", "2626", "--test"},
	}
	for _, args := range commands {
		code, stdout, stderr := runCLI(t, te, args...)
		if code != exitOK {
			t.Fatalf("porttrack %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		if w, line := widest(stdout); w > textout.DefaultWidth {
			t.Errorf("porttrack %s: a line of %d columns:\n%s", strings.Join(args, " "), w, line)
		}
	}
	// The cut text is there in full with --wide.
	_, wide, _ := runCLI(t, te, "feature", "show", "2751", "--wide")
	if w, _ := widest(wide); w <= textout.DefaultWidth {
		t.Errorf("feature show --wide is only %d columns: nothing was cut without it?", w)
	}
	// Whatever evidence the shipped database holds: its full commit and
	// its longest summary, both cut to fit without --wide.
	var whole []string
	te.withDB(t, func(d *db.DB) {
		latest, err := d.LatestEvidence(context.Background(), db.KindFeature, 2751)
		if err != nil || len(latest) == 0 {
			t.Fatalf("feature 2751's evidence: %v (%d gates)", err, len(latest))
		}
		longest := ""
		for _, ev := range latest {
			if len(ev.Summary) > len(longest) {
				longest = ev.Summary
			}
			whole = append(whole, ev.GitCommit)
		}
		whole = append(whole, longest)
	})
	mustContain(t, wide, whole...)

	// COLUMNS sets the width of a pipe.
	t.Setenv("COLUMNS", "60")
	_, narrow, _ := runCLI(t, te, "history", "2751")
	if w, line := widest(narrow); w > 60 {
		t.Errorf("history at COLUMNS=60: a line of %d columns:\n%s", w, line)
	}
}

func widest(out string) (int, string) {
	w, widestLine := 0, ""
	for _, line := range strings.Split(out, "\n") {
		if lw := textout.Width(line); lw > w {
			w, widestLine = lw, line
		}
	}
	return w, widestLine
}

// A reason stored with --override that holds terminal escapes prints
// escaped everywhere it is shown, never raw.
func TestStoredEscapesPrintEscaped(t *testing.T) {
	te := newTinyEnv(t)
	const reason = "needs\x1b[2J\x1b]0;owned\x07 a \u009b31m harness\u202e"
	const escaped = `needs\x1b[2J\x1b]0;owned\x07 a \u009b31m harness\u202e`
	update(t, te, db.KindTest, "10", "deferred", reason)
	for _, args := range [][]string{
		{"history", "--test", "10"},
		{"test", "show", "10"},
		{"test", "list"},
		{"test", "list", "--wide"},
		{"batch", "show", "1"},
		{"history", "--test", "10", "--json"},
		{"test", "show", "10", "--json"},
		{"batch", "show", "1", "--json"},
	} {
		code, stdout, stderr := runCLI(t, te, args...)
		if code != exitOK {
			t.Fatalf("porttrack %v: exit %d: %s", args, code, stderr)
		}
		for _, raw := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(stdout, raw) {
				t.Errorf("porttrack %v printed %q raw:\n%q", args, raw, stdout)
			}
		}
		joined := strings.Join(args, " ")
		switch {
		case strings.Contains(joined, "--json"):
			mustContain(t, stdout, `needs\u001b[2J\u001b]0;owned\u0007 a \u009b31m harness\u202e`)
		case strings.Contains(joined, "list") && !strings.Contains(joined, "--wide"), strings.HasPrefix(joined, "batch show"):
			// A table cell is cut to fit 80 columns, after the escapes.
			mustContain(t, stdout, `needs\x1b[2J\x1b]0;owned`, "…")
		default:
			mustContain(t, stdout, escaped)
		}
	}
}

// readCommands are every command that only reads the database.
var readCommands = [][]string{
	{"batch", "list"},
	{"batch", "show", "31"},
	{"batch", "ready"},
	{"feature", "list"},
	{"feature", "show", "2751"},
	{"feature", "deps", "2751"},
	{"feature", "batch-update", "--ids", "2599", "--set-status", "stub"},
	{"test", "list", "--batch", "31"},
	{"test", "show", "2626"},
	{"test", "batch-update", "--ids", "2616", "--set-status", "stub"},
	{"history", "2751"},
	{"report", "summary"},
	{"report", "summary", "--format", "markdown"},
	{"report", "html", "--out", "report"},
	{"audit", "--batch", "31"},
	{"next", "--limit", "5"},
}

// A read command refuses a missing or empty --db with one line and exit 2,
// and leaves the file as it was: absent, empty, or byte for byte the same.
func TestReadCommandsNeverWriteTheDatabase(t *testing.T) {
	te := newTestEnv(t)
	good := te.DBPath
	before, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(te.Root, "missing.db")
	empty := filepath.Join(te.Root, "empty.db")
	for _, args := range readCommands {
		name := strings.Join(args, " ")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path, want string
		}{{missing, "missing.db does not exist"}, {empty, "empty.db is empty: not a porttrack database"}} {
			te.DBPath = c.path
			code, stdout, stderr := runCLI(t, te, args...)
			if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("porttrack %s on %s: exit %d, stdout %q, stderr %q; want exit 2 and one line", name, filepath.Base(c.path), code, stdout, stderr)
			}
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("porttrack %s created the missing database", name)
		}
		if info, err := os.Stat(empty); err != nil || info.Size() != 0 {
			t.Fatalf("porttrack %s wrote to an empty file (%v)", name, err)
		}

		te.DBPath = good
		if code, _, stderr := runCLI(t, te, args...); code != exitOK {
			t.Errorf("porttrack %s: exit %d: %s", name, code, stderr)
		}
		after, err := os.ReadFile(good)
		if err != nil || !bytes.Equal(before, after) {
			t.Fatalf("porttrack %s changed the database (%v)", name, err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(good + suffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("porttrack %s left %s behind", name, filepath.Base(good+suffix))
			}
		}
	}
}

// verify's table of items fits 80 columns with the outcome of every gate,
// and keeps the end of a long target, the method's name.
func TestVerifyItemTableFitsEightyColumns(t *testing.T) {
	run := &gateRun{Verdicts: map[gates.ItemKey]bool{}}
	for i, sym := range []string{"(*raft).processAppendEntryResponse", "(*raft).adjustClusterSizeAndQuorum"} {
		it := db.Item{Kind: db.KindFeature, ID: 2754 + i, Slice: "B", TargetSymbol: sym}
		run.Items = append(run.Items, it)
		run.Verdicts[itemKey(it)] = i == 0
		for _, g := range gateColumns {
			res := gates.Result{Gate: g, Kind: string(it.Kind), ItemID: it.ID, Passed: i == 0 || g != gates.GateCoverage, Coverage: 0.925, KillRate: 0.8}
			run.Results = append(run.Results, res)
		}
	}
	var out bytes.Buffer
	if err := run.printItemTable(textout.NewWriter(&out, textout.Settings{Width: 80}, nil)); err != nil {
		t.Fatal(err)
	}
	table, _, _ := strings.Cut(out.String(), "feature 2755 coverage")
	if w, line := widest(table); w > 80 {
		t.Errorf("a line of %d columns:\n%s", w, line)
	}
	mustContainLine(t, table, "feature", "2754", "…", "EntryResponse  ", "ok", "ok 92%", "ok 80%", "PASS")
	mustContainLine(t, table, "feature", "2755", "FAIL", "FAIL")
	if strings.Contains(table, "SLICE") {
		t.Errorf("one slice, yet a slice column:\n%s", table)
	}
}
