package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// writeOutcome is the JSON every write command prints with --json.
type writeOutcome struct {
	OK      bool              `json:"ok"`
	DryRun  bool              `json:"dry_run"`
	Changes []json.RawMessage `json:"changes"`
	Refused []refusalJSON     `json:"refused"`
	Error   string            `json:"error"`
	// Details of some commands.
	Unchanged   []int             `json:"unchanged"`
	NotFound    []json.RawMessage `json:"not_found"`
	EvidenceIDs []int64           `json:"evidence_ids"`
	Items       []itemVerdict     `json:"items"`
}

// runJSON runs a write command with --json and decodes its one object.
func runJSON(t *testing.T, te *testEnv, wantCode int, args ...string) writeOutcome {
	t.Helper()
	code, stdout, stderr := runCLI(t, te, append(args, "--json")...)
	if code != wantCode {
		t.Fatalf("porttrack %s --json: exit %d, want %d (stderr %q)", strings.Join(args, " "), code, wantCode, stderr)
	}
	if code != exitOK && strings.Count(stderr, "\n") < 1 {
		t.Errorf("porttrack %s --json: exit %d without a line on stderr", strings.Join(args, " "), code)
	}
	var out writeOutcome
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("porttrack %s --json: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	if out.Changes == nil {
		t.Errorf("porttrack %s --json: no changes list:\n%s", strings.Join(args, " "), stdout)
	}
	return out
}

func change(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWriteCommandsJSON(t *testing.T) {
	te := newTestEnv(t)
	catalog := mustAbs(t, catalogDir) // before runCLI moves into the test's root

	dry := runJSON(t, te, exitOK, "feature", "batch-update", "--ids", "2599-2600,2601", "--set-status", "stub")
	if !dry.OK || !dry.DryRun || len(dry.Changes) != 3 || len(dry.Unchanged) != 0 {
		t.Fatalf("dry run = %+v", dry)
	}
	if c := change(t, dry.Changes[0]); c["id"] != 2599.0 || c["from"] != "deferred" || c["to"] != "stub" {
		t.Errorf("first planned change = %v", c)
	}
	if s, _ := itemStatus(t, te, "feature", 2599); s != "deferred" {
		t.Fatalf("the dry run changed feature 2599 to %s", s)
	}

	done := runJSON(t, te, exitOK, "feature", "batch-update", "--ids", "2599-2600", "--set-status", "stub", "--execute")
	if !done.OK || done.DryRun || len(done.Changes) != 2 {
		t.Fatalf("execute = %+v", done)
	}
	again := runJSON(t, te, exitOK, "feature", "batch-update", "--ids", "2599", "--set-status", "stub", "--execute")
	if len(again.Changes) != 0 || len(again.Unchanged) != 1 || again.Unchanged[0] != 2599 {
		t.Errorf("repeated change = %+v, want 2599 unchanged", again)
	}

	refused := runJSON(t, te, exitRefused, "feature", "batch-update", "--ids", "2751,2752", "--set-status", "deferred", "--execute")
	if refused.OK || len(refused.Changes) != 0 || len(refused.Refused) != 2 {
		t.Fatalf("refused = %+v, want two rules", refused)
	}
	rules := map[string][]int{}
	for _, r := range refused.Refused {
		rules[r.Rule] = r.IDs
	}
	if len(rules["override"]) != 2 || len(rules["batch-can-start"]) != 2 {
		t.Errorf("refused by %v, want override and batch-can-start for 2751,2752", rules)
	}

	bad := runJSON(t, te, exitUsage, "feature", "batch-update", "--ids", "1", "--set-status", "stub")
	if bad.OK || !strings.Contains(bad.Error, "unknown feature IDs: 1") || len(bad.Refused) != 0 {
		t.Errorf("bad input = %+v", bad)
	}

	started := runJSON(t, te, exitOK, "batch", "start", "30")
	if c := change(t, started.Changes[0]); !started.OK || c["kind"] != "batch" || c["id"] != 30.0 || c["from"] != "pending" || c["to"] != "in_progress" {
		t.Errorf("batch start 30 = %+v %v", started, c)
	}
	blocked := runJSON(t, te, exitRefused, "batch", "start", "31")
	if blocked.OK || len(blocked.Refused) != 1 || blocked.Refused[0].Rule != "batch-can-start" || !strings.Contains(blocked.Refused[0].Detail, "batch 30") {
		t.Errorf("batch start 31 = %+v", blocked)
	}
	incomplete := runJSON(t, te, exitRefused, "batch", "complete", "30")
	if incomplete.OK || len(incomplete.Refused) == 0 || incomplete.Refused[0].Rule != "batch-complete" {
		t.Errorf("batch complete 30 = %+v", incomplete)
	}

	te.DBPath = filepath.Join(te.Root, "new.db")
	created := runJSON(t, te, exitOK, "init", "--catalog", catalog)
	if c := change(t, created.Changes[0]); !created.OK || c["features"] != 198.0 || c["tests"] != 104.0 || c["batches"] != 3.0 {
		t.Errorf("init = %+v %v", created, c)
	}
	again = runJSON(t, te, exitRefused, "init", "--catalog", catalog)
	if again.OK || len(again.Refused) != 1 || again.Refused[0].Rule != "init-no-overwrite" {
		t.Errorf("second init = %+v", again)
	}
}

func TestMapJSON(t *testing.T) {
	te := newTinyEnv(t)
	te.writeFile(t, "pkg/raft.go", "package pkg\n\ntype raft struct{}\n\nfunc (r *raft) vote() {}\n")
	one := runJSON(t, te, exitOK, "feature", "map", "11", "--file", "pkg/raft.go", "--symbol", "(*raft).vote")
	if c := change(t, one.Changes[0]); c["id"] != 11.0 || c["target_file"] != "pkg/raft.go" || c["target_symbol"] != "(*raft).vote" {
		t.Errorf("map 11 = %v", c)
	}
	missing := runJSON(t, te, exitUsage, "feature", "map", "10", "--file", "pkg/raft.go", "--symbol", "(RaftState).String")
	if missing.OK || !strings.Contains(missing.Error, "is not defined in pkg/raft.go") {
		t.Errorf("map of an undefined symbol = %+v", missing)
	}
	auto := runJSON(t, te, exitOK, "feature", "map", "--auto", "pkg")
	if len(auto.Changes) != 1 || len(auto.NotFound) != 2 {
		t.Errorf("map --auto = %+v, want 11 mapped and 10, 20 not found", auto)
	}
}

// verify --json prints the verdicts and the evidence it recorded on
// stdout and its readable report on stderr.
func TestVerifyJSON(t *testing.T) {
	te := newFixtureEnv(t)
	t.Chdir(te.Root)
	code := execute(context.Background(), []string{"verify", "--batch", "1", "--ids", "1", "--kind", "feature", "--json", "--db", te.DBPath}, te.out, te.err)
	if code != exitOK {
		t.Fatalf("verify --json: exit %d: %s", code, te.err)
	}
	var out writeOutcome
	if err := json.Unmarshal(te.out.Bytes(), &out); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, te.out)
	}
	if !out.OK || len(out.Items) != 1 || !out.Items[0].Passed || len(out.EvidenceIDs) != len(out.Items[0].Gates) || len(out.Changes) != 0 {
		t.Fatalf("verify --json = %+v", out)
	}
	mustContain(t, te.err.String(), "Verifying 1 features and 0 tests of batch 1", "Recorded 5 evidence rows")
}
