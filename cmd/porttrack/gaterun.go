package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

// gateRun is one run of the per-item gates over tracked items, possibly of
// several batches (audit), with what is needed to record it as evidence.
type gateRun struct {
	Items    []db.Item
	Results  []gates.Result
	Verdicts map[gates.ItemKey]bool
	// Hashes is each batch's code hash, the same before and after the run.
	Hashes map[int]string
	// TargetHashes is each item's target function's source hash.
	TargetHashes map[gates.ItemKey]string
	// Culprits are the items whose target changed since their last passing
	// evidence: when tests fail, the first suspects.
	Culprits []db.Item
}

// targetOf names an item's mapping as evidence stores it.
func targetOf(it db.Item) string {
	if it.TargetFile == "" {
		return ""
	}
	return it.TargetFile + ":" + it.TargetSymbol
}

// runItemGates judges items with the default gates. The dependency gate runs
// per batch, since whether a batch can start is a property of the batch; the
// other gates run once over all items, so one build and one suite run serve
// every batch.
//
// A feature's callee that is itself in the run is judged by the run rather
// than by its tracked status: a verification promotes callers and callees
// together, and a callee still "deferred" in the tracker but passing every
// gate here is no placeholder. A callee in the run that fails a gate fails
// its callers' dependency gate, repeatedly up the call graph.
//
// A callee that belongs to a later batch (one that depends on the caller's)
// cannot be finished in the tracker before the caller's batch completes, so
// its tracked status would block the caller for ever; the same holds for a
// callee in a later group of the caller's own batch, since the plan takes
// groups in order and the call graph has cycles across them. Such a callee
// is judged by its code instead: it must be mapped and pass the stub scan.
// gateOptions are the knobs of a run of the item gates.
type gateOptions struct {
	Mutants  int // per feature; 0 leaves the mutation gate out
	Parallel int // test processes at once; 0 means the gates' default
	// skipCoverage leaves the coverage gate out (audit checks its recorded
	// evidence instead); onlyMutation runs the mutation gate alone.
	skipCoverage, onlyMutation bool
}

func runItemGates(ctx context.Context, d *db.DB, root string, items []db.Item, opts gateOptions, progress io.Writer) (*gateRun, error) {
	batches, err := d.Batches(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]db.Batch{}
	for _, b := range batches {
		byID[b.ID] = b
	}
	run := &gateRun{Items: items, Hashes: map[int]string{}, TargetHashes: map[gates.ItemKey]string{}}
	inRun := map[gates.ItemKey]bool{}
	var runBatches []int
	for _, it := range items {
		inRun[itemKey(it)] = true
		if !slices.Contains(runBatches, it.BatchID) {
			runBatches = append(runBatches, it.BatchID)
		}
	}
	slices.Sort(runBatches)

	callees, judged, err := calleeStatuses(ctx, d, items, inRun, byID)
	if err != nil {
		return nil, err
	}
	if err := judged.scanLater(ctx, root, progress); err != nil {
		return nil, err
	}
	testPkgs, err := testPackages(ctx, d, runBatches, byID)
	if err != nil {
		return nil, err
	}
	claims, err := claimingTests(ctx, d, runBatches, byID)
	if err != nil {
		return nil, err
	}
	excused, err := d.MutantExcuses(ctx)
	if err != nil {
		return nil, err
	}
	extra, err := mutationFeatures(ctx, d, items)
	if err != nil {
		return nil, err
	}
	all := &gates.Input{
		MutationFeatures: extra,
		RepoDir:          root,
		Items:            toGateItems(items),
		CalleeStatus:     callees,
		TestPackages:     testPkgs,
		TargetPackages:   featurePackages(append(slices.Clone(items), fromGateItems(extra)...)),
		ClaimTests:       claims,
		Excused:          excused,
		Mutants:          opts.Mutants,
		Parallel:         opts.Parallel,
		Progress:         progress,
	}
	if err := run.hashAll(ctx, d, root, runBatches); err != nil {
		return nil, err
	}
	for _, id := range runBatches {
		if opts.onlyMutation {
			break
		}
		canStart, reason := batchCanStart(byID[id], byID)
		in := *all
		in.Items = toGateItems(itemsOfBatch(items, id))
		in.BatchCanStart, in.BlockingReason = canStart, reason
		rs, err := gates.RunAll(ctx, []gates.Gate{gates.Dependency{}}, &in)
		if err != nil {
			return nil, err
		}
		run.Results = append(run.Results, rs...)
	}
	var rest []gates.Gate
	for _, g := range gates.Default(all) {
		switch {
		case g.Name() == gates.GateDependency:
		case opts.skipCoverage && g.Name() == gates.GateCoverage:
		case opts.onlyMutation && g.Name() != gates.GateMutation:
		default:
			rest = append(rest, g)
		}
	}
	rs, err := gates.RunAll(ctx, rest, all)
	if err != nil {
		return nil, err
	}
	run.Results = append(run.Results, rs...)
	if err := run.checkHashesUnchanged(ctx, d, root); err != nil {
		return nil, err
	}
	run.Verdicts = gates.Verdicts(all.Items, run.Results)
	run.judgeCallees(items, judged)
	if err := run.findCulprits(ctx, d); err != nil {
		return nil, err
	}
	return run, nil
}

// findCulprits lists the run's items whose target code changed since their
// last passing evidence (its target hash differs from the function's now).
func (r *gateRun) findCulprits(ctx context.Context, d *db.DB) error {
	for _, it := range r.Items {
		evs, err := d.EvidenceOf(ctx, it.Kind, it.ID)
		if err != nil {
			return err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if ev := evs[i]; ev.Passed && ev.TargetHash != "" {
				if ev.TargetHash != r.TargetHashes[itemKey(it)] {
					r.Culprits = append(r.Culprits, it)
				}
				break
			}
		}
	}
	return nil
}

// runAndPrintItemGates runs the gates with live progress on e.Out, then
// prints the per-gate and per-item tables, as verify and audit both show
// them before deciding anything.
func runAndPrintItemGates(ctx context.Context, e *env, d *db.DB, root string, items []db.Item, opts gateOptions) (*gateRun, error) {
	prog := newProgress(e.Out)
	run, err := runItemGates(ctx, d, root, items, opts, prog)
	prog.done()
	if err != nil {
		return nil, err
	}
	if err := printGateTable(e.Out, run.Results); err != nil {
		return nil, err
	}
	if err := run.printItemTable(e.Out); err != nil {
		return nil, err
	}
	printCulprits(e, run)
	return run, nil
}

// printCulprits names, when any run gate failed, the items whose target
// code changed since their last passing evidence, before anything else.
func printCulprits(e *env, run *gateRun) {
	if run == nil || len(run.Culprits) == 0 {
		return
	}
	failed := false
	for _, res := range run.Results {
		switch res.Gate {
		case gates.GateTest, gates.GateCoverage, gates.GateMutation, gates.GateBuild:
			failed = failed || !res.Passed
		}
	}
	if !failed {
		return
	}
	fmt.Fprintf(e.Out, "Culprits first: %d items whose target changed since their last passing evidence:\n", len(run.Culprits))
	for _, it := range run.Culprits {
		fmt.Fprintf(e.Out, "  CULPRIT %s %d %s (%s)\n", it.Kind, it.ID, it.TargetSymbol, it.TargetFile)
	}
}

func itemKey(it db.Item) gates.ItemKey { return gates.ItemKey{Kind: string(it.Kind), ID: it.ID} }

func toGateItems(items []db.Item) []gates.Item {
	out := make([]gates.Item, len(items))
	for i, it := range items {
		out[i] = gates.Item{Kind: string(it.Kind), ID: it.ID, Batch: it.BatchID, Slice: it.Slice,
			TargetFile: it.TargetFile, TargetSymbol: it.TargetSymbol, Status: string(it.Status),
			RefLines: it.GoLineEnd - it.GoLineStart + 1}
	}
	return out
}

func itemsOfBatch(items []db.Item, batchID int) []db.Item {
	var out []db.Item
	for _, it := range items {
		if it.BatchID == batchID {
			out = append(out, it)
		}
	}
	return out
}

// batchCanStart mirrors the tracker's rule: every dependency is complete.
func batchCanStart(b db.Batch, byID map[int]db.Batch) (bool, string) {
	for _, dep := range b.DependsOn {
		if s := byID[dep].Status; s != db.BatchComplete {
			return false, fmt.Sprintf("it depends on batch %d, which is %s", dep, s)
		}
	}
	return true, ""
}

// withDependencies is the batches and every batch they depend on,
// directly or not, each once.
func withDependencies(batchIDs []int, byID map[int]db.Batch) []int {
	seen := map[int]bool{}
	queue := slices.Clone(batchIDs)
	var out []int
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		queue = append(queue, byID[id].DependsOn...)
	}
	return out
}

// testPackages are the directories of the mapped tests of the batches and of
// every batch they depend on, directly or not: a feature may be covered by an
// earlier batch's tests.
func testPackages(ctx context.Context, d *db.DB, batchIDs []int, byID map[int]db.Batch) ([]string, error) {
	var pkgs []string
	for _, id := range withDependencies(batchIDs, byID) {
		tests, err := d.Items(ctx, db.KindTest, db.ItemFilter{BatchID: id})
		if err != nil {
			return nil, err
		}
		for _, t := range tests {
			if p := packagePattern(t.TargetFile); p != "" && !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	slices.Sort(pkgs)
	return pkgs, nil
}

// fromGateItems keeps what featurePackages reads of gate items.
func fromGateItems(its []gates.Item) []db.Item {
	out := make([]db.Item, len(its))
	for i, it := range its {
		out[i] = db.Item{Kind: db.ItemKind(it.Kind), ID: it.ID, BatchID: it.Batch, TargetFile: it.TargetFile, TargetSymbol: it.TargetSymbol}
	}
	return out
}

// mutationFeatures are, when the run holds tests, the mapped features of
// their batches that the run does not hold: mutating them is how the tests
// show they can fail.
func mutationFeatures(ctx context.Context, d *db.DB, items []db.Item) ([]gates.Item, error) {
	inRun := map[int]bool{}
	batches := map[int]bool{}
	for _, it := range items {
		if it.Kind == db.KindFeature {
			inRun[it.ID] = true
		} else {
			batches[it.BatchID] = true
		}
	}
	var extra []db.Item
	for _, b := range slices.Sorted(maps.Keys(batches)) {
		fs, err := d.Items(ctx, db.KindFeature, db.ItemFilter{BatchID: b})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.TargetFile != "" && f.Status != db.StatusNA && !inRun[f.ID] {
				extra = append(extra, f)
			}
		}
	}
	return toGateItems(extra), nil
}

// claimingTests lists, for each batch of the run, the mapped tests of the
// batch and of every batch it depends on, directly or not: the tests whose
// coverage and kills count for the batch's features.
func claimingTests(ctx context.Context, d *db.DB, batchIDs []int, byID map[int]db.Batch) (map[int][]gates.TestRef, error) {
	out := map[int][]gates.TestRef{}
	for _, b := range batchIDs {
		for _, id := range withDependencies([]int{b}, byID) {
			tests, err := d.Items(ctx, db.KindTest, db.ItemFilter{BatchID: id})
			if err != nil {
				return nil, err
			}
			for _, t := range tests {
				if t.TargetFile == "" || t.Status == db.StatusNA {
					continue
				}
				out[b] = append(out[b], gates.TestRef{Dir: path.Dir(t.TargetFile), Name: t.TargetSymbol})
			}
		}
	}
	return out, nil
}

func featurePackages(items []db.Item) []string {
	var pkgs []string
	for _, it := range items {
		if p := packagePattern(it.TargetFile); it.Kind == db.KindFeature && p != "" && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

// packagePattern turns a mapped target file into the go command pattern of
// its package; empty for an unmapped item.
func packagePattern(targetFile string) string {
	if targetFile == "" {
		return ""
	}
	return dirPattern(path.Dir(targetFile))
}

// dirPattern is the go command pattern of a root-relative package directory.
func dirPattern(dir string) string {
	if dir == "." {
		return "."
	}
	return "./" + dir
}

func (r *gateRun) hashAll(ctx context.Context, d *db.DB, root string, batchIDs []int) error {
	for _, it := range r.Items {
		r.TargetHashes[itemKey(it)] = gates.TargetHash(root, it.TargetFile, it.TargetSymbol)
	}
	for _, id := range batchIDs {
		h, err := d.CodeHash(ctx, root, id)
		if err != nil {
			return err
		}
		r.Hashes[id] = h
	}
	return nil
}

// checkHashesUnchanged refuses a run during which the code changed: its
// results would belong to no single version of the code.
func (r *gateRun) checkHashesUnchanged(ctx context.Context, d *db.DB, root string) error {
	for id, before := range r.Hashes {
		after, err := d.CodeHash(ctx, root, id)
		if err != nil {
			return err
		}
		if after != before {
			return fmt.Errorf("the code of batch %d changed while the gates ran; nothing recorded, run again", id)
		}
	}
	return nil
}

// failed lists the IDs of items of kind that failed some gate.
func (r *gateRun) failed(kind db.ItemKind) []int {
	var ids []int
	for _, it := range r.Items {
		if it.Kind == kind && !r.Verdicts[itemKey(it)] {
			ids = append(ids, it.ID)
		}
	}
	return ids
}

// refusal is the exit-1 error naming every item that failed, or nil.
func (r *gateRun) refusal(rule, what string) error {
	var refused db.RefusedError
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		if ids := r.failed(kind); len(ids) > 0 {
			refused.Violations = append(refused.Violations, db.Violation{Rule: rule, Detail: kind.Plural() + " " + what, IDs: ids})
		}
	}
	if len(refused.Violations) == 0 {
		return nil
	}
	return &refused
}
