package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

type checkpointOptions struct {
	Batch int
	Slice string
	Repo  string
	JSON  bool
}

// recordedCheckpoint is the evidence a checkpoint recorded, as --json
// prints it.
type recordedCheckpoint struct {
	Kind       db.ItemKind `json:"kind"`
	ID         int         `json:"id"`
	Slice      string      `json:"slice"`
	EvidenceID int64       `json:"evidence_id"`
	Passed     bool        `json:"passed"`
	Summary    string      `json:"summary"`
}

func newCheckpointCmd(e *env) *cobra.Command {
	opts := &checkpointOptions{}
	cmd := &cobra.Command{
		Use:   "checkpoint --batch N [--slice S]",
		Short: "After a group or wave: stub scan, build and the whole test suite, recorded on the batch",
		Long: `The design's checkpoint after a group or wave of a batch: a stub scan of
every Go file in the directories the batch touches, go build and go vet, and
the whole test suite of those packages and of the batches it depends on under
the race detector. The outcome is recorded as the batch's checkpoint evidence,
naming the slice. Exits 1 if anything failed. --slice is required when the
batch has groups or waves.`,
		Example: "  porttrack checkpoint --batch 31 --slice A",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheckpoint(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "the batch (required)")
	cmd.Flags().StringVar(&opts.Slice, "slice", "", "the group or wave just finished: A, B, C, T1, T2")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the checkout to check (default: the repository porttrack runs in)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the recorded checkpoint as JSON (the readable report goes to stderr)")
	cmd.RegisterFlagCompletionFunc("slice", completeSlices(e, db.KindFeature, db.KindTest))
	cmd.MarkFlagDirname("repo")
	return cmd
}

// checkpointDetail is the JSON stored with the checkpoint evidence.
type checkpointDetail struct {
	Slice   string                  `json:"slice"`
	Dirs    []string                `json:"scanned_dirs"`
	Pkgs    []string                `json:"test_packages"`
	Results map[string]resultDetail `json:"results"`
}

func runCheckpoint(ctx context.Context, e *env, opts *checkpointOptions) error {
	human := e
	if opts.JSON {
		human = withOut(e, e.Err)
	}
	recorded, err := checkpoint(ctx, human, opts)
	var changes []recordedCheckpoint
	if recorded.EvidenceID != 0 {
		changes = []recordedCheckpoint{recorded}
	}
	// A failed checkpoint is refused, and recorded all the same.
	return finishWrite(e.Out, opts.JSON, writeResult{Changes: changes}, err, func() error { return nil })
}

func checkpoint(ctx context.Context, e *env, opts *checkpointOptions) (recordedCheckpoint, error) {
	recorded := recordedCheckpoint{Kind: db.KindBatch, ID: opts.Batch, Slice: opts.Slice}
	if opts.Batch <= 0 {
		return recorded, usagef("checkpoint needs --batch N (a positive batch ID)")
	}
	root, err := repoRoot(e, opts.Repo)
	if err != nil {
		return recorded, err
	}
	facts, err := readGitFacts(ctx, root, e.DBPath)
	if err != nil {
		return recorded, err
	}
	err = withWrite(ctx, e, func(d *db.DB) error {
		b, err := d.Batch(ctx, opts.Batch)
		if err != nil {
			return err
		}
		if err := checkSlice(ctx, d, b.ID, opts.Slice); err != nil {
			return err
		}
		dirs, err := d.TargetDirs(ctx, b.ID)
		if err != nil {
			return err
		}
		if len(dirs) == 0 {
			return usagef("batch %d has no mapped items; there is nothing to check", b.ID)
		}
		pkgs, err := checkpointPackages(ctx, d, b)
		if err != nil {
			return err
		}
		goVersion, err := gates.GoVersion(ctx, root)
		if err != nil {
			return err
		}
		hash, err := d.CodeHash(ctx, root, b.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Out, "Checkpoint of batch %d%s: scanning %s, testing %s\n", b.ID, sliceNote(opts.Slice), strings.Join(dirs, ", "), strings.Join(pkgs, " "))
		prog := newProgress(e.Out)
		in := &gates.Input{RepoDir: root, ScanDirs: dirs, TestPackages: pkgs, TargetPackages: pkgs, Progress: prog}
		results, err := gates.RunAll(ctx, []gates.Gate{gates.StubScan{}, gates.Build{}, gates.Suite{}}, in)
		prog.done()
		if err != nil {
			return err
		}
		if after, err := d.CodeHash(ctx, root, b.ID); err != nil || after != hash {
			if err != nil {
				return err
			}
			return fmt.Errorf("the code of batch %d changed while the checkpoint ran; nothing recorded, run again", b.ID)
		}
		ev, err := checkpointEvidence(b.ID, opts, results, provenance{Git: facts, GoVersion: goVersion}, dirs, pkgs, hash)
		if err != nil {
			return err
		}
		rows := make([][]string, len(results))
		for i, r := range results {
			rows[i] = []string{r.Gate, passFail(r.Passed), r.Summary}
		}
		if err := renderTable(e.Out, []string{"Gate", "Result", "Summary"}, rows); err != nil {
			return err
		}
		ids, err := d.RecordEvidence(ctx, ev)
		if err != nil {
			return err
		}
		recorded.EvidenceID, recorded.Passed, recorded.Summary = ids[0], ev.Passed, ev.Summary
		fmt.Fprintf(e.Out, "Recorded checkpoint evidence %d for batch %d%s at commit %s%s\n", ids[0], b.ID, sliceNote(opts.Slice), orDash(facts.Commit), dirtyNote(facts))
		if !ev.Passed {
			return &db.RefusedError{Violations: []db.Violation{{Rule: "checkpoint",
				Detail: fmt.Sprintf("batch %d%s failed: %s", b.ID, sliceNote(opts.Slice), ev.Summary)}}}
		}
		return nil
	})
	return recorded, err
}

// checkSlice refuses a slice the batch does not have, and a missing slice in
// a batch that has slices: a checkpoint records which group or wave it closes.
func checkSlice(ctx context.Context, d *db.DB, batchID int, slice string) error {
	var found []string
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		items, err := d.Items(ctx, kind, db.ItemFilter{BatchID: batchID})
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Slice != "" && !slices.Contains(found, it.Slice) {
				found = append(found, it.Slice)
			}
		}
	}
	slices.Sort(found)
	switch {
	case slice == "" && len(found) > 0:
		return usagef("batch %d has groups and waves (%s); name the one just finished with --slice", batchID, strings.Join(found, ", "))
	case slice != "" && !slices.Contains(found, slice):
		return usagef("batch %d has no slice %q (slices: %s)", batchID, slice, orDash(strings.Join(found, ", ")))
	}
	return nil
}

// checkpointPackages are the packages the batch and every batch it depends
// on touch: their whole suites run, so a later slice cannot break an earlier
// one unnoticed.
func checkpointPackages(ctx context.Context, d *db.DB, b db.Batch) ([]string, error) {
	batches, err := d.Batches(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]db.Batch{}
	for _, x := range batches {
		byID[x.ID] = x
	}
	var pkgs []string
	seen := map[int]bool{}
	for queue := []int{b.ID}; len(queue) > 0; queue = queue[1:] {
		id := queue[0]
		if seen[id] {
			continue
		}
		seen[id] = true
		queue = append(queue, byID[id].DependsOn...)
		dirs, err := d.TargetDirs(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, dir := range dirs {
			if p := dirPattern(dir); !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	slices.Sort(pkgs)
	return pkgs, nil
}

func checkpointEvidence(batchID int, opts *checkpointOptions, results []gates.Result, p provenance, dirs, pkgs []string, hash string) (db.Evidence, error) {
	ev := db.Evidence{Kind: db.KindBatch, ItemID: batchID, BatchID: batchID, Gate: db.GateCheckpoint, Passed: true,
		GitCommit: p.Git.Commit, TreeDirty: !p.Git.clean(), GoVersion: p.GoVersion, CodeHash: hash}
	detail := checkpointDetail{Slice: opts.Slice, Dirs: dirs, Pkgs: pkgs, Results: map[string]resultDetail{}}
	var cmds, summaries []string
	for _, r := range results {
		if r.Command != "" {
			cmds = append(cmds, r.Command)
		}
		summaries = append(summaries, fmt.Sprintf("%s %s: %s", r.Gate, passFail(r.Passed), r.Summary))
		detail.Results[r.Gate] = detailOf(r, p)
		if !r.Passed {
			ev.Passed = false
			if ev.ExitCode == 0 {
				ev.ExitCode = r.ExitCode
			}
		}
	}
	if !ev.Passed && ev.ExitCode == 0 {
		// Only the static scan failed; the checkpoint command itself exits 1.
		ev.ExitCode = exitRefused
	}
	cmds = append(cmds, fmt.Sprintf("porttrack checkpoint --batch %d%s", batchID, sliceFlag(opts.Slice)))
	ev.Command = strings.Join(cmds, " && ")
	ev.Summary = fmt.Sprintf("slice %s: %s", orDash(opts.Slice), strings.Join(summaries, "; "))
	data, err := json.Marshal(detail)
	if err != nil {
		return db.Evidence{}, err
	}
	ev.Detail = string(data)
	return ev, nil
}

func sliceNote(slice string) string {
	if slice == "" {
		return ""
	}
	return " slice " + slice
}

func sliceFlag(slice string) string {
	if slice == "" {
		return ""
	}
	return " --slice " + slice
}
