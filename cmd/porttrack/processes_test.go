package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// buildPorttrack builds this command into a temporary directory, so a test
// can run it as users do: separate processes of the real binary. Under
// -race the binary is race-instrumented too, which costs only a link.
func buildPorttrack(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "porttrack")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Eight processes of the built porttrack binary work on one database at
// once, each running the gates on its own feature, recording the evidence,
// promoting the feature on it, and changing one shared test. Every write
// must land (no lost update), none may fail on a locked database, and the
// main file alone must hold it all once they exit.
func TestEightProcessesUpdateAndVerifyOneDatabase(t *testing.T) {
	te := newFixtureEnv(t)
	bin := buildPorttrack(t)
	const procs = 8
	// Features 5..12 (Gen02..Gen09) call no other feature, so each passes
	// the dependency gate on its own.
	feature := func(i int) int { return 5 + i }
	outputs := make([]string, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			run := func(args ...string) error {
				cmd := exec.Command(bin, append(args, "--db", te.DBPath)...)
				cmd.Dir = te.Root
				cmd.Env = append(os.Environ(), fmt.Sprintf("PORTTRACK_ACTOR=process-%d", i))
				out, err := cmd.CombinedOutput()
				outputs[i] += fmt.Sprintf("$ porttrack %s\n%s", strings.Join(args, " "), out)
				return err
			}
			id := fmt.Sprint(feature(i))
			for _, args := range [][]string{
				{"verify", "--batch", "1", "--ids", id, "--kind", "feature"},
				{"feature", "batch-update", "--ids", id, "--set-status", "complete", "--execute"},
				{"test", "batch-update", "--ids", "104", "--set-status", "n_a", "--override", fmt.Sprintf("process %d was here", i), "--execute"},
			} {
				if errs[i] = run(args...); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil || strings.Contains(outputs[i], "database is locked") {
			t.Errorf("process %d: %v\n%s", i, errs[i], outputs[i])
		}
	}
	if t.Failed() {
		return
	}

	copied := filepath.Join(t.TempDir(), "copy.db")
	copyFile(t, te.DBPath, copied)
	d, err := db.Open(context.Background(), copied)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for i := range procs {
		it, err := d.Item(ctx, db.KindFeature, feature(i))
		if err != nil || it.Status != db.StatusComplete {
			t.Errorf("feature %d = %+v, %v; want complete", feature(i), it, err)
		}
		log, err := d.History(ctx, db.KindFeature, feature(i))
		if err != nil || len(log) != 2 || log[1].Actor != fmt.Sprintf("process-%d", i) || log[1].EvidenceID == nil {
			t.Errorf("history of feature %d = %+v, %v; want the import, then process-%d's promotion on evidence", feature(i), log, err, i)
		}
		ev, err := d.LatestEvidence(ctx, db.KindFeature, feature(i))
		if err != nil || !ev[db.GateBuild].Passed || !ev[db.GateCoverage].Passed {
			t.Errorf("evidence of feature %d = %+v, %v", feature(i), ev, err)
		}
	}
	log, err := d.History(ctx, db.KindTest, 104)
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]bool{}
	for _, l := range log[1:] {
		actors[l.Actor] = true
	}
	// The first change moves it to n_a; each later one changes the reason.
	if len(log) != 1+procs || len(actors) != procs {
		t.Fatalf("test 104 has %d changes by %d processes, want %d by %d:\n%+v", len(log)-1, len(actors), procs, procs, log)
	}
}
