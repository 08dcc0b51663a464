package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// copyTree copies the files under src (relative to the repository root) into
// dst, keeping their paths.
func copyTree(t *testing.T, root, dst string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		err := filepath.WalkDir(filepath.Join(root, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			r, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, r)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, r), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The end-to-end case: in a copy of this repository, a verified test
// of batch 31 is made hollow (a return before its assertions), and
// porting.db is edited by SQL twice (an evidence row rewritten, a feature
// inserted as verified). audit fails and names each item on its own line.
func TestAuditNamesPlantedHollowTestAndSQLEdits(t *testing.T) {
	ctx := context.Background()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	copyTree(t, repo, root, "go.mod", "go.sum", "raftport", "raftport_test", "internal/raftprobe", "catalog")
	copyTree(t, repo, root, "porting.db")
	dbPath := filepath.Join(root, "porting.db")

	// Bring the copy to the current schema (sealing its rows) the way any
	// porttrack write does, then pick the victims.
	d, err := db.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := d.Items(ctx, db.KindTest, db.ItemFilter{BatchID: 31, Status: db.StatusVerified})
	if err != nil || len(tests) == 0 {
		t.Fatalf("verified tests of batch 31: %v, %v", tests, err)
	}
	hollow := tests[0]
	features, err := d.Items(ctx, db.KindFeature, db.ItemFilter{BatchID: 31, Status: db.StatusVerified})
	if err != nil || len(features) == 0 {
		t.Fatalf("verified features of batch 31: %v, %v", features, err)
	}
	edited := features[0]
	evs, err := d.EvidenceOf(ctx, db.KindFeature, edited.ID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("evidence of feature %d: %v, %v", edited.ID, evs, err)
	}
	d.Close()

	src := filepath.Join(root, filepath.FromSlash(hollow.TargetFile))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	head := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(hollow.TargetSymbol) + `\(t \*testing\.T\) \{\n`)
	loc := head.FindIndex(data)
	if loc == nil {
		t.Fatalf("%s not found in %s", hollow.TargetSymbol, hollow.TargetFile)
	}
	planted := string(data[:loc[1]]) + "\treturn\n" + string(data[loc[1]:])
	if err := os.WriteFile(src, []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE evidence SET summary = 'all good', passed = 1 WHERE id = ` + strconv.FormatInt(evs[0].ID, 10),
		`INSERT INTO features (id, batch_id, slice, go_file, go_symbol, go_line_start, go_line_end, target_file, target_symbol, status, reason)
			VALUES (9001, 31, 'A', 'server/raft.go', '(*raft).fake', 1, 2, '', '', 'verified', '')`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()

	te := &testEnv{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	te.env = &env{Out: te.out, Err: te.err, DBPath: dbPath, Actor: "tester", Root: root}
	err = runAudit(ctx, te.env, &auditOptions{Batch: 31, Sample: 0})
	var refused *db.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("audit of the planted copy: %v, want a refusal\n%s", err, te.out)
	}
	out := te.out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FAIL test ` + strconv.Itoa(hollow.ID) + ` .*cannot fail`),
		regexp.MustCompile(`(?m)^FAIL feature ` + strconv.Itoa(edited.ID) + ` .*ledger: evidence row ` + strconv.FormatInt(evs[0].ID, 10) + `: its hash chain breaks here`),
		regexp.MustCompile(`(?m)^FAIL feature 9001 .*not in the catalog .*appeared from nowhere`),
	} {
		if !want.MatchString(out) {
			t.Errorf("audit output lacks a line matching %s:\n%s", want, out)
		}
	}
	for _, id := range []int{hollow.ID} {
		if !strings.Contains(err.Error(), strconv.Itoa(id)) {
			t.Errorf("refusal %q does not name %d", err, id)
		}
	}
}
