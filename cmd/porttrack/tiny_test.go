package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// A catalog small enough to walk whole batches through their lifecycle:
// batch 1 has features 10, 11 and test 10; batch 2 depends on 1 and has
// feature 20 and test 20.
var tinyCatalog = map[string]string{
	"batches.tsv": "id\tname\tgo_file\tdepends_on\tstatus\tdescription\n" +
		"1\tOne\tserver/raft.go\t\tpending\tfirst\n" +
		"2\tTwo\tserver/raft.go\t1\tpending\tsecond\n",
	"catalog.tsv": "kind\tid\tbatch\tslice\tgo_file\tgo_symbol\tgo_line_start\tgo_line_end\n" +
		"feature\t10\t1\t\tserver/raft.go\t(RaftState).String\t1\t5\n" +
		"feature\t11\t1\t\tserver/raft.go\t(*raft).vote\t6\t9\n" +
		"feature\t20\t2\tA\tserver/raft.go\tdecodePeerState\t10\t19\n" +
		"test\t10\t1\t\tserver/raft_test.go\tTestNRGSimple\t1\t30\n" +
		"test\t20\t2\tT1\tserver/raft_test.go\tTestNRGVote\t31\t60\n",
	"calls.tsv": "caller_id\tcallee_id\n11\t10\n20\t11\n",
}

func writeCatalog(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newTinyEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	te := &testEnv{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	te.env = &env{Out: te.out, Err: te.err, DBPath: filepath.Join(root, "porting.db"), Actor: "tester", Root: root}
	if err := runInit(context.Background(), te.env, &initOptions{CatalogDir: writeCatalog(t, tinyCatalog)}); err != nil {
		t.Fatalf("init: %v", err)
	}
	te.reset()
	return te
}

// mapTiny maps every tiny item to real code under the root, so evidence
// can carry a code hash.
func mapTiny(t *testing.T, te *testEnv) {
	t.Helper()
	te.writeFile(t, "pkg/raft.go", "package pkg\n\ntype RaftState int\n\nfunc (s RaftState) String() string { return \"x\" }\n\ntype raft struct{}\n\nfunc (r *raft) vote() {}\n\nfunc decodePeerState() {}\n")
	te.writeFile(t, "pkg/raft_test.go", "package pkg\n\nimport \"testing\"\n\nfunc TestNRGSimple(t *testing.T) {}\n\nfunc TestNRGVote(t *testing.T) {}\n")
	ctx := context.Background()
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		if err := runItemMap(ctx, te.env, &itemMapOptions{Kind: kind, Auto: filepath.Join(te.Root, "pkg")}); err != nil {
			t.Fatalf("map %s: %v", kind, err)
		}
	}
	te.reset()
}

// recordEvidence stores evidence for one item at the code as it is now.
func recordEvidence(t *testing.T, te *testEnv, kind db.ItemKind, id int, passed bool, gates ...db.Gate) {
	t.Helper()
	ctx := context.Background()
	te.withDB(t, func(d *db.DB) {
		it, err := d.Item(ctx, kind, id)
		if err != nil {
			t.Fatal(err)
		}
		hash, err := d.CodeHash(ctx, te.Root, it.BatchID)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gates {
			exit := 0
			if !passed {
				exit = 1
			}
			if _, err := d.RecordEvidence(ctx, db.Evidence{
				Kind: kind, ItemID: id, BatchID: it.BatchID, Gate: g, Passed: passed,
				Command: "go test ./pkg", ExitCode: exit, Summary: "gate " + string(g),
				GitCommit: "abc123", GoVersion: "go1.26", CodeHash: hash,
			}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
