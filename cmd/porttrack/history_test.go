package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// history shows, under each promotion, the gate runs it rested on, so the
// chain of changes can be audited without looking evidence up by ID.
func TestHistoryShowsEvidenceBehindChanges(t *testing.T) {
	te := newTinyEnv(t)
	mapTiny(t, te)
	ctx := context.Background()
	const commit = "0d63589fe670a29df7577433deee059358021c90"
	te.withDB(t, func(d *db.DB) {
		hash, err := d.CodeHash(ctx, te.Root, 1)
		if err != nil {
			t.Fatal(err)
		}
		record := func(g db.Gate, dirty bool, command, summary string) {
			t.Helper()
			if _, err := d.RecordEvidence(ctx, db.Evidence{Kind: db.KindFeature, ItemID: 10, BatchID: 1, Gate: g, Passed: true,
				Command: command, Summary: summary, GitCommit: commit, TreeDirty: dirty, GoVersion: "go1.26.8", CodeHash: hash}); err != nil {
				t.Fatal(err)
			}
		}
		promote := func(to db.Status) {
			t.Helper()
			if _, err := d.ChangeItemStatus(ctx, db.StatusChange{Kind: db.KindFeature, IDs: []int{10}, To: to, Actor: "verify", Root: te.Root}); err != nil {
				t.Fatal(err)
			}
		}
		record(db.GateDependency, false, "porttrack verify --batch 1", "batch can start")
		record(db.GateStub, false, "porttrack verify --batch 1", "no placeholder found")
		record(db.GateBuild, true, "go build ./...", "build and vet clean")
		promote(db.StatusComplete)
		record(db.GateCoverage, false, "go test -coverpkg=./pkg ./pkg", "String: 3/3 statements covered")
		record(db.GateMutation, false, "mutation kill matrix", "4/4 mutants killed")
		promote(db.StatusVerified)
	})

	te.reset()
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10, Feature: true}); err != nil {
		t.Fatal(err)
	}
	out := te.out.String()
	mustContain(t, out, "feature 10: (RaftState).String, now verified", " deferred → complete  by verify\n", " complete → verified  by verify\n")
	mustContainLine(t, out, "build", "pass", "3", "0d63589-dirty", "build and vet clean")
	mustContainLine(t, out, "stub", "pass", "2", "0d63589 ", "no placeholder found")
	mustContainLine(t, out, "coverage", "pass", "4", "0d63589 ", "String: 3/3 statements covered")
	toComplete, toVerified, ok := strings.Cut(out, "complete → verified")
	if !ok || strings.Contains(toComplete, "coverage") || strings.Count(toVerified, "  pass  ") != 5 {
		t.Fatalf("coverage came after the move to complete and belongs to the move to verified only:\n%s", out)
	}

	// --wide adds each row's time, Go version and command.
	te.reset()
	te.Wide = true
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10, Feature: true}); err != nil {
		t.Fatal(err)
	}
	te.Wide = false
	mustContainLine(t, te.out.String(), "build", "0d63589fe670a29df7577433deee059358021c90-dirty", "go1.26.8", "go build ./...")
	mustContainLine(t, te.out.String(), "coverage", "go1.26.8", "go test -coverpkg=./pkg ./pkg")

	te.reset()
	if err := runHistory(ctx, te.env, &historyOptions{ID: 10, Feature: true, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var log []historyEntry
	if err := json.Unmarshal(te.out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	gates := func(l historyEntry) string {
		var g []string
		for _, e := range l.Evidence {
			g = append(g, string(e.Gate))
		}
		return strings.Join(g, ",")
	}
	if len(log) != 3 || log[0].EvidenceID != nil || log[0].Evidence == nil || len(log[0].Evidence) != 0 {
		t.Fatalf("history --json = %+v, want the initial row without evidence", log)
	}
	if got := gates(log[1]); log[1].To != "complete" || got != "dependency,stub,build" {
		t.Fatalf("evidence behind the move to complete: %s (%+v)", got, log[1])
	}
	if got := gates(log[2]); log[2].To != "verified" || got != "dependency,stub,build,coverage,mutation" {
		t.Fatalf("evidence behind the move to verified: %s (%+v)", got, log[2])
	}
	if b := log[1].Evidence[2]; !b.TreeDirty || b.GitCommit != commit || b.GoVersion != "go1.26.8" || b.Command != "go build ./..." || *log[1].EvidenceID != b.ID {
		t.Fatalf("build evidence = %+v, linked %d", b, *log[1].EvidenceID)
	}
	if !strings.Contains(te.out.String(), `"evidence": []`) {
		t.Fatalf("an entry without evidence should carry an empty list:\n%s", te.out.String())
	}
}
