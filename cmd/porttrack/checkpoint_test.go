package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestCheckpointRecordsBatchEvidence(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()

	var ue *usageError
	for _, opts := range []*checkpointOptions{{}, {Batch: 1}, {Batch: 1, Slice: "Z"}} {
		if err := runCheckpoint(ctx, te.env, opts); !errors.As(err, &ue) {
			t.Errorf("%+v: %v, want a usage error", opts, err)
		}
	}

	if err := runCheckpoint(ctx, te.env, &checkpointOptions{Batch: 1, Slice: "A"}); err != nil {
		t.Fatalf("checkpoint on a clean fixture: %v\n%s", err, te.out)
	}
	mustContain(t, te.out.String(), "Checkpoint of batch 1 slice A: scanning calc, calctest", "suite: running the tests of ./calc ./calctest",
		"Recorded checkpoint evidence", "clean tree")
	ev := latest(t, te, db.KindBatch, 1)[db.GateCheckpoint]
	if !ev.Passed || ev.BatchID != 1 || !strings.HasPrefix(ev.Summary, "slice A: stubscan pass") || !strings.Contains(ev.Summary, "suite pass: 4 tests passed") ||
		!strings.Contains(ev.Command, "go test -race") || !strings.HasSuffix(ev.Command, "porttrack checkpoint --batch 1 --slice A") || ev.TreeDirty {
		t.Fatalf("checkpoint evidence = %+v", ev)
	}
	var detail checkpointDetail
	if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || detail.Slice != "A" || len(detail.Results) != 3 {
		t.Fatalf("detail = %+v (%v)", detail, err)
	}

	// A skipped test planted in a touched directory fails the whole-tree scan.
	te.writeFile(t, "calctest/skip_test.go", "package calctest\n\nimport \"testing\"\n\nfunc TestLater(t *testing.T) {\n\tt.Skip(\"later\")\n}\n")
	te.reset()
	err := runCheckpoint(ctx, te.env, &checkpointOptions{Batch: 1, Slice: "T2"})
	expectRefusal(t, err, "refused by rule checkpoint: batch 1 slice T2 failed: slice T2: stubscan fail", "TestLater is skipped")
	ev = latest(t, te, db.KindBatch, 1)[db.GateCheckpoint]
	if ev.Passed || ev.ExitCode != exitRefused || !ev.TreeDirty || !strings.HasPrefix(ev.Summary, "slice T2") {
		t.Fatalf("failed checkpoint evidence = %+v", ev)
	}
}

func TestAuditRerunsTheGatesOfVerifiedItems(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()

	if err := runAudit(ctx, te.env, &auditOptions{}); err != nil {
		t.Fatalf("audit with nothing verified: %v", err)
	}
	mustContain(t, te.out.String(), "No verified items in any batch; nothing to audit.")

	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "A", Promote: true}); err != nil {
		t.Fatalf("promote slice A: %v\n%s", err, te.out)
	}
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, Slice: "T1", Promote: true}); err != nil {
		t.Fatalf("promote wave T1: %v\n%s", err, te.out)
	}
	te.reset()
	before := dump(t, te.DBPath)
	if err := runAudit(ctx, te.env, &auditOptions{Batch: 1}); err != nil {
		t.Fatalf("audit of freshly verified items: %v\n%s", err, te.out)
	}
	mustContain(t, te.out.String(), "Auditing 3 verified features and 3 verified tests in batch 1", "Audit passed")

	// Sign, verified, becomes a stub: its body only panics.
	calc := readFile(t, te, "calc/calc.go")
	start := strings.Index(calc, "func Sign(n int) int {")
	end := start + strings.Index(calc[start:], "\n}\n")
	te.writeFile(t, "calc/calc.go", calc[:start]+"func Sign(n int) int {\n\tpanic(\"not implemented\")"+calc[end:])
	code, stdout, _ := runCLI(t, te, "audit")
	if code != exitRefused {
		t.Fatalf("audit after stubbing Sign exited %d, want %d\n%s", code, exitRefused, stdout)
	}
	mustContain(t, stdout, "feature 2 stubscan:", "test 102 test: failed")
	if after := dump(t, te.DBPath); after != before {
		t.Fatal("audit wrote to the database")
	}
	if s, _ := itemStatus(t, te, db.KindFeature, 2); s != db.StatusVerified {
		t.Fatalf("audit changed feature 2 to %s", s)
	}
}

// batch-update accepts evidence taken on the code as it is now: committing
// the database in between changes nothing, editing the target code does.
func TestBatchUpdateAcceptsEvidenceOnUnchangedCode(t *testing.T) {
	te := newFixtureEnv(t)
	ctx := context.Background()
	if err := runVerify(ctx, te.env, &verifyOptions{Batch: 1, IDs: "1-3", Kind: "feature"}); err != nil {
		t.Fatalf("verify: %v\n%s", err, te.out)
	}
	commitAll(t, te.Root, "record evidence")

	update(t, te, db.KindFeature, "1", "complete", "")
	update(t, te, db.KindFeature, "1", "verified", "")

	te.writeFile(t, "calc/calc.go", readFile(t, te, "calc/calc.go")+"\n// Half is new code in the batch's package.\nfunc Half(n int) int { return n / 2 }\n")
	expectRefused(t, te, &itemUpdateOptions{Kind: db.KindFeature, IDs: "2,3", Status: "complete", Execute: true},
		"refused by rule evidence: moving to complete needs passing evidence for gates dependency,stub,build; code changed since it was recorded for: 2,3")
}

func readFile(t *testing.T, te *testEnv, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(te.Root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
