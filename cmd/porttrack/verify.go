package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

// defaultMutants is how many mutants of each feature verify tries unless
// told otherwise: enough for the 80% kill rate to mean something (one
// survivor in five), few enough for a batch to fit CI's patience.
const defaultMutants = 5

type verifyOptions struct {
	Batch    int
	Slice    string
	IDs      string
	Kind     string
	Mutants  int
	Parallel int
	MaxTests int
	Promote  bool
	// Repo is the checkout the gates run on; empty means the repository
	// porttrack runs in.
	Repo string
	JSON bool
}

func newVerifyCmd(e *env) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify --batch N [--slice S] [--ids LIST] [--kind feature|test] [--mutants N] [--promote]",
		Short: "Run the verification gates on a batch's items and record the results as evidence",
		Long: `Run the gates (dependency, stub scan, build, test, coverage, and with
--mutants N mutation) on the mapped features and tests of a batch, print a
table per gate and per item, and record every result as evidence. Exits 1 if
any gate failed. Changes no status, unless --promote.

With --promote (refused on a tree with changes other than porting.db), every
item that passed all gates then moves to verified, features through complete,
in chunks of at most 15 IDs, each change linked to its evidence.

Items that are n_a, or deferred with an explicit reason and not mapped, are
left out; any other unmapped item is refused. --ids matches features and tests
alike (their numbers overlap); --kind narrows to one kind.`,
		Example: `  porttrack verify --batch 31 --slice A
  porttrack verify --batch 31 --ids 2751 --kind feature --mutants 5
  porttrack verify --batch 31 --slice A --promote --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVerify(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "the batch to verify (required)")
	cmd.Flags().StringVar(&opts.Slice, "slice", "", "only this group or wave: A, B, C, T1, T2")
	cmd.Flags().StringVar(&opts.IDs, "ids", "", "only these IDs and ranges, e.g. 2733-2740,2745")
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "only features or only tests: feature, test")
	cmd.Flags().IntVar(&opts.Mutants, "mutants", defaultMutants, "mutants per feature for the mutation gate, which verified requires (-1 leaves it out)")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 2, "test processes run at once by the coverage and mutation gates")
	cmd.Flags().IntVar(&opts.MaxTests, "max-tests", 0, "covering tests (fastest first) a mutant runs against before it counts as a survivor (0: the gates' default, 100)")
	cmd.Flags().BoolVar(&opts.Promote, "promote", false, "move every item that passed to verified")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the checkout to verify (default: the repository porttrack runs in)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the verdicts, evidence and promotions as JSON (the readable report goes to stderr)")
	cmd.RegisterFlagCompletionFunc("slice", completeSlices(e, db.KindFeature, db.KindTest))
	cmd.RegisterFlagCompletionFunc("ids", completeIDList(e, db.KindFeature, db.KindTest))
	cmd.MarkFlagDirname("repo")
	return cmd
}

// commandLine reconstructs the invocation for evidence rows.
func (o *verifyOptions) commandLine() string {
	parts := []string{"porttrack verify", fmt.Sprintf("--batch %d", o.Batch)}
	for _, f := range []struct{ name, val string }{{"slice", o.Slice}, {"ids", o.IDs}, {"kind", o.Kind}} {
		if f.val != "" {
			parts = append(parts, fmt.Sprintf("--%s %s", f.name, f.val))
		}
	}
	if o.Mutants != defaultMutants && o.Mutants != 0 {
		parts = append(parts, fmt.Sprintf("--mutants %d", o.Mutants))
	}
	if o.MaxTests != 0 {
		parts = append(parts, fmt.Sprintf("--max-tests %d", o.MaxTests))
	}
	if o.Promote {
		parts = append(parts, "--promote")
	}
	return strings.Join(parts, " ")
}

func runVerify(ctx context.Context, e *env, opts *verifyOptions) error {
	human := e
	if opts.JSON {
		human = withOut(e, e.Err)
	}
	outcome, err := verify(ctx, human, opts)
	res := writeResult{Changes: outcome.Promoted, Details: map[string]any{
		"evidence_ids": nonNilInt64s(outcome.EvidenceIDs), "items": outcome.Verdicts.items()}}
	return finishWrite(e.Out, opts.JSON, res, err, func() error { return nil })
}

// verifyOutcome is what a verify run recorded and changed.
type verifyOutcome struct {
	EvidenceIDs []int64
	Verdicts    *gateRun
	Promoted    []promotedChange
}

func verify(ctx context.Context, e *env, opts *verifyOptions) (verifyOutcome, error) {
	var outcome verifyOutcome
	if opts.Batch <= 0 {
		return outcome, usagef("verify needs --batch N (a positive batch ID)")
	}
	switch {
	case opts.Mutants < -1:
		return outcome, usagef("invalid --mutants %d: want a count, or -1 to leave the gate out", opts.Mutants)
	case opts.Mutants == 0:
		opts.Mutants = defaultMutants
	case opts.Mutants == -1:
		opts.Mutants = 0
	}
	if opts.Kind != "" && opts.Kind != string(db.KindFeature) && opts.Kind != string(db.KindTest) {
		return outcome, usagef("invalid --kind %q: want feature or test", opts.Kind)
	}
	var ids []int
	if opts.IDs != "" {
		var err error
		if ids, err = parseIDList(opts.IDs); err != nil {
			return outcome, err
		}
	}
	root, err := repoRoot(e, opts.Repo)
	if err != nil {
		return outcome, err
	}
	facts, err := readGitFacts(ctx, root, e.DBPath)
	if err != nil {
		return outcome, err
	}
	if opts.Promote {
		if err := requireClean(facts, root); err != nil {
			return outcome, err
		}
	}
	err = withWrite(ctx, e, func(d *db.DB) error {
		items, err := verifyItems(ctx, e, d, opts, ids)
		if err != nil {
			return err
		}
		goVersion, err := gates.GoVersion(ctx, root)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Out, "Verifying %d features and %d tests of batch %d in %s\n",
			countKind(items, db.KindFeature), countKind(items, db.KindTest), opts.Batch, root)
		run, err := runAndPrintItemGates(ctx, e, d, root, items, gateOptions{Mutants: opts.Mutants, Parallel: opts.Parallel, MaxTests: opts.MaxTests})
		if err != nil {
			return err
		}
		outcome.Verdicts = run
		evs, err := run.itemEvidence(provenance{Git: facts, GoVersion: goVersion, Command: opts.commandLine()})
		if err != nil {
			return err
		}
		evIDs, err := d.RecordEvidence(ctx, evs...)
		if err != nil {
			return err
		}
		outcome.EvidenceIDs = evIDs
		if len(evIDs) > 0 {
			fmt.Fprintf(e.Out, "Recorded %d evidence rows (%d-%d) at commit %s%s\n",
				len(evIDs), evIDs[0], evIDs[len(evIDs)-1], orDash(facts.Commit), dirtyNote(facts))
		}
		if opts.Promote {
			moved, err := promote(ctx, e, d, root, run, opts.Batch)
			outcome.Promoted = moved
			if err != nil {
				return err
			}
		}
		return run.refusal("verify", "failing a gate")
	})
	return outcome, err
}

// itemVerdict is one item's outcome of a gate run, as --json prints it.
type itemVerdict struct {
	Kind   db.ItemKind   `json:"kind"`
	ID     int           `json:"id"`
	Passed bool          `json:"passed"`
	Gates  []gateOutcome `json:"gates"`
}

type gateOutcome struct {
	Gate     string   `json:"gate"`
	Passed   bool     `json:"passed"`
	Summary  string   `json:"summary"`
	Coverage *float64 `json:"coverage,omitempty"`
	KillRate *float64 `json:"kill_rate,omitempty"`
}

// items lists the run's verdicts item by item; none before the run.
func (r *gateRun) items() []itemVerdict {
	out := []itemVerdict{}
	if r == nil {
		return out
	}
	index := map[gates.ItemKey]int{}
	for _, it := range r.Items {
		index[itemKey(it)] = len(out)
		out = append(out, itemVerdict{Kind: it.Kind, ID: it.ID, Passed: r.Verdicts[itemKey(it)], Gates: []gateOutcome{}})
	}
	for _, res := range r.Results {
		i, ok := index[gates.ItemKey{Kind: res.Kind, ID: res.ItemID}]
		if !ok {
			continue
		}
		g := gateOutcome{Gate: res.Gate, Passed: res.Passed, Summary: res.Summary}
		switch res.Gate {
		case gates.GateCoverage:
			g.Coverage = &res.Coverage
		case gates.GateMutation:
			g.KillRate = &res.KillRate
		}
		out[i].Gates = append(out[i].Gates, g)
	}
	return out
}

// withOut is e printing its readable output to out instead.
func withOut(e *env, out io.Writer) *env {
	moved := *e
	moved.Out = out
	return &moved
}

func nonNilInt64s(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// repoRoot is the checkout the gates run on, made absolute so git paths and
// database paths compare.
func repoRoot(e *env, repo string) (string, error) {
	if repo == "" {
		repo = e.Root
	}
	abs, err := filepath.Abs(repo)
	if err != nil {
		return "", usagef("invalid --repo %q: %v", repo, err)
	}
	return abs, nil
}

// requireClean refuses a promotion whose evidence could not be tied to a
// commit: anyone checking it out later must get the code that was judged.
func requireClean(facts gitFacts, root string) error {
	if facts.Commit == "" {
		return &db.RefusedError{Violations: []db.Violation{{Rule: "clean-tree",
			Detail: fmt.Sprintf("--promote needs a git checkout with a commit; %s has none", root)}}}
	}
	if len(facts.Dirty) > 0 {
		return &db.RefusedError{Violations: []db.Violation{{Rule: "clean-tree",
			Detail: "--promote needs a clean tree (porting.db aside); commit or remove: " + abbreviate(facts.Dirty, 10)}}}
	}
	return nil
}

func dirtyNote(facts gitFacts) string {
	if facts.clean() {
		return ", clean tree"
	}
	return fmt.Sprintf(", tree dirty (%d paths changed)", len(facts.Dirty))
}

func countKind(items []db.Item, kind db.ItemKind) int {
	n := 0
	for _, it := range items {
		if it.Kind == kind {
			n++
		}
	}
	return n
}

// verifyItems selects the batch's items named by the filters. n_a items and
// unmapped items deferred with an explicit reason are set aside and listed;
// any other unmapped item is refused, since no gate can judge it.
func verifyItems(ctx context.Context, e *env, d *db.DB, opts *verifyOptions, ids []int) ([]db.Item, error) {
	b, err := d.Batch(ctx, opts.Batch)
	if err != nil {
		return nil, err
	}
	var all []db.Item
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		if opts.Kind != "" && opts.Kind != string(kind) {
			continue
		}
		items, err := d.Items(ctx, kind, db.ItemFilter{BatchID: b.ID, Slice: opts.Slice, IDs: ids})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	if len(ids) > 0 {
		var unknown []int
		for _, id := range ids {
			if !slices.ContainsFunc(all, func(it db.Item) bool { return it.ID == id }) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return nil, &db.BadInputError{Msg: fmt.Sprintf("IDs not among the selected items of batch %d: %s", b.ID, formatIDs(unknown))}
		}
	}
	var selected, setAside []db.Item
	unmapped := map[db.ItemKind][]int{}
	for _, it := range all {
		switch {
		case it.Status == db.StatusNA:
			setAside = append(setAside, it)
		case it.TargetFile != "":
			selected = append(selected, it)
		case it.Status == db.StatusDeferred && it.Reason != db.InitialReason && strings.TrimSpace(it.Reason) != "":
			setAside = append(setAside, it)
		default:
			unmapped[it.Kind] = append(unmapped[it.Kind], it.ID)
		}
	}
	if len(unmapped) > 0 {
		var parts []string
		for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
			if len(unmapped[kind]) > 0 {
				parts = append(parts, kind.Plural()+" "+formatIDs(unmapped[kind]))
			}
		}
		return nil, &db.BadInputError{Msg: fmt.Sprintf("cannot verify unmapped items of batch %d: %s (map them with 'feature map'/'test map', or leave them out with --ids, --slice or --kind)",
			b.ID, strings.Join(parts, "; "))}
	}
	if len(selected) == 0 {
		return nil, usagef("no mapped items of batch %d match the filters; nothing to verify", b.ID)
	}
	for _, it := range setAside {
		fmt.Fprintf(e.Out, "Left out %s %d (%s): %s\n", it.Kind, it.ID, it.Status, orDash(it.Reason))
	}
	return selected, nil
}
