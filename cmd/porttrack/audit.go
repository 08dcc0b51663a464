package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

type auditOptions struct {
	Batch   int
	Repo    string
	Catalog string
	Sample  int
	Strict  bool
}

func newAuditCmd(e *env) *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [--batch N]",
		Short: "Check the record and re-run the gates of every verified item; fail naming each item that no longer holds",
		Long: `Audit the record, then the code, and exit 1 naming, one line each, every
item that fails and why.

The record: the ledger's hash chains over the evidence and the status log
(a row edited, deleted or inserted by hand shows); the items against the
catalog (none from nowhere, none vanished, none changed); every status log
row links evidence of its own item that exists; every verified item's
status is its last logged change, and it has, for every gate verified
requires, its own latest evidence, passing, on the current code hash of its
batch and of its own target (mutation included: its kill rate on the code
as it is); a target named otherwise than its reference symbol has a mapping
reason.

The code: the dependency and static gates, the build, and the test gate of
every verified test are run again; the recorded coverage and mutation
evidence is checked against the code hashes rather than re-run, and the
mutants of --sample N verified features (default 2) are run again.

Items verified on evidence recorded before the audited scheme (schema 2)
are listed as needing re-verification; with --strict they fail.

Audit only reads the database: it changes no status and records nothing.`,
		Example: "  porttrack audit\n  porttrack audit --batch 31 --strict",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "audit only this batch")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "the checkout to audit (default: the repository porttrack runs in)")
	cmd.Flags().StringVar(&opts.Catalog, "catalog", "", "the catalog the database was built from (default: REPO/catalog)")
	cmd.Flags().IntVar(&opts.Sample, "sample", 2, "verified features whose mutants are run again")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail items verified on evidence from before the audited scheme")
	cmd.MarkFlagDirname("repo")
	cmd.MarkFlagDirname("catalog")
	return cmd
}

// auditFindings collects, per item, why it fails the audit.
type auditFindings struct {
	why    map[gates.ItemKey][]string
	names  map[gates.ItemKey]string
	record []string // about no single item
	notes  []string // said, not failed
	legacy []gates.ItemKey
}

func (a *auditFindings) add(kind db.ItemKind, id int, format string, args ...any) {
	k := gates.ItemKey{Kind: string(kind), ID: id}
	a.why[k] = append(a.why[k], fmt.Sprintf(format, args...))
}

func runAudit(ctx context.Context, e *env, opts *auditOptions) error {
	start := time.Now()
	if opts.Batch < 0 {
		return usagef("invalid --batch %d: batch IDs are positive", opts.Batch)
	}
	root, err := repoRoot(e, opts.Repo)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	scope := "any batch"
	if opts.Batch != 0 {
		if _, err := d.Batch(ctx, opts.Batch); err != nil {
			return err
		}
		scope = fmt.Sprintf("batch %d", opts.Batch)
	}
	a := &auditFindings{why: map[gates.ItemKey][]string{}, names: map[gates.ItemKey]string{}}
	var items []db.Item
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		found, err := d.Items(ctx, kind, db.ItemFilter{BatchID: opts.Batch, Status: db.StatusVerified})
		if err != nil {
			return err
		}
		items = append(items, found...)
	}
	for _, it := range items {
		a.names[itemKey(it)] = it.GoSymbol
	}
	if err := auditRecord(ctx, d, root, opts, items, a); err != nil {
		return err
	}
	recordTime := time.Since(start)
	fmt.Fprintf(e.Out, "Auditing %d verified features and %d verified tests in %s (record checked in %s)\n",
		countKind(items, db.KindFeature), countKind(items, db.KindTest), scope, recordTime.Round(time.Millisecond))

	var mapped []db.Item
	for _, it := range items {
		if it.TargetFile == "" {
			a.add(it.Kind, it.ID, "verified but has no mapped target, so nothing can show it still holds")
			continue
		}
		mapped = append(mapped, it)
	}
	if len(mapped) > 0 {
		if err := auditCode(ctx, e, d, root, mapped, opts.Sample, a); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.Out, "No verified items in %s; nothing to audit.\n", scope)
	}
	return finishAudit(e, a, opts, scope, time.Since(start))
}

// auditRecord checks what the database says against itself, the ledger and
// the catalog.
func auditRecord(ctx context.Context, d *db.DB, root string, opts *auditOptions, verified []db.Item, a *auditFindings) error {
	problems, err := d.VerifyLedger(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		if p.Table == "evidence" && p.RowID > 0 {
			if ev, err := d.EvidenceRow(ctx, p.RowID); err == nil {
				a.add(ev.Kind, ev.ItemID, "ledger: %s", p)
				continue
			}
		}
		if p.Table == "status_log" && p.RowID > 0 {
			if l, err := d.LogRow(ctx, p.RowID); err == nil && l.Kind != db.KindBatch {
				a.add(l.Kind, l.ItemID, "ledger: %s", p)
				continue
			}
		}
		a.record = append(a.record, "ledger: "+p.String())
	}
	if err := auditCatalog(ctx, d, root, opts, a); err != nil {
		return err
	}
	log, err := d.Log(ctx)
	if err != nil {
		return err
	}
	last := map[gates.ItemKey]db.LogEntry{}
	for _, l := range log {
		if l.Kind == db.KindBatch {
			continue
		}
		last[gates.ItemKey{Kind: string(l.Kind), ID: l.ItemID}] = l
		if l.EvidenceID == nil {
			continue
		}
		ev, err := d.EvidenceRow(ctx, *l.EvidenceID)
		switch {
		case err != nil:
			a.add(l.Kind, l.ItemID, "its change %s -> %s (log row %d) links evidence row %d, which does not exist", orDash(l.From), l.To, l.ID, *l.EvidenceID)
		case ev.Kind != l.Kind || ev.ItemID != l.ItemID:
			a.add(l.Kind, l.ItemID, "its change %s -> %s (log row %d) links evidence row %d of %s %d", orDash(l.From), l.To, l.ID, *l.EvidenceID, ev.Kind, ev.ItemID)
		}
	}
	hashes := map[int]string{}
	for _, it := range verified {
		k := itemKey(it)
		if l, ok := last[k]; !ok || l.To != string(db.StatusVerified) {
			a.add(it.Kind, it.ID, "is verified, but its last logged change is not a move to verified: the status was set outside porttrack")
		}
		if it.TargetFile != "" {
			if ref, _ := symbolKey(it.GoSymbol); ref != mustKey(it.TargetSymbol) && strings.TrimSpace(it.MapReason) == "" {
				a.add(it.Kind, it.ID, "its target %s is not the reference symbol %s and no mapping reason is recorded", it.TargetSymbol, it.GoSymbol)
			}
		}
		h, ok := hashes[it.BatchID]
		if !ok {
			if h, err = d.CodeHash(ctx, root, it.BatchID); err != nil {
				return err
			}
			hashes[it.BatchID] = h
		}
		latest, err := d.LatestEvidence(ctx, it.Kind, it.ID)
		if err != nil {
			return err
		}
		if isLegacy(latest) {
			a.legacy = append(a.legacy, k)
			continue
		}
		target, targetHash := targetOf(it), gates.TargetHash(root, it.TargetFile, it.TargetSymbol)
		for _, g := range db.RequiredGates(it.Kind, db.StatusVerified) {
			ev, ok := latest[g]
			switch {
			case !ok:
				a.add(it.Kind, it.ID, "no %s evidence", g)
			case !ev.Passed:
				a.add(it.Kind, it.ID, "its latest %s evidence (row %d) failed: %s", g, ev.ID, ev.Summary)
			case ev.CodeHash != h:
				a.add(it.Kind, it.ID, "its %s evidence (row %d) was taken on other code than batch %d's now", g, ev.ID, it.BatchID)
			case ev.Target != target:
				a.add(it.Kind, it.ID, "its %s evidence (row %d) judged %s, not its target %s", g, ev.ID, orDash(ev.Target), target)
			case ev.TargetHash != targetHash:
				a.add(it.Kind, it.ID, "its %s evidence (row %d) was taken on another version of %s", g, ev.ID, it.TargetSymbol)
			}
		}
	}
	return nil
}

func mustKey(sym string) string {
	k, _ := symbolKey(sym)
	return k
}

// isLegacy reports evidence recorded before the audited scheme: none of the
// item's latest rows names its target.
func isLegacy(latest map[db.Gate]db.Evidence) bool {
	for _, ev := range latest {
		if ev.Target != "" {
			return false
		}
	}
	return true
}

// auditCatalog compares the items with the catalog the database was built
// from: no item from nowhere, none vanished, none changed.
func auditCatalog(ctx context.Context, d *db.DB, root string, opts *auditOptions, a *auditFindings) error {
	dir := opts.Catalog
	if dir == "" {
		dir = filepath.Join(root, "catalog")
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.tsv")); err != nil {
		if opts.Catalog != "" {
			a.record = append(a.record, fmt.Sprintf("catalog: no catalog at %s to compare the items with", dir))
		} else {
			a.notes = append(a.notes, fmt.Sprintf("items not compared with a catalog: none at %s (--catalog DIR)", dir))
		}
		return nil
	}
	want, err := db.ReadCatalog(dir)
	if err != nil {
		return err
	}
	have, err := d.Catalog(ctx)
	if err != nil {
		return err
	}
	type key struct {
		kind db.ItemKind
		id   int
	}
	index := func(c *db.Catalog) map[key]db.Item {
		m := map[key]db.Item{}
		for _, it := range c.Items {
			if opts.Batch == 0 || it.BatchID == opts.Batch {
				m[key{it.Kind, it.ID}] = it
			}
		}
		return m
	}
	w, h := index(want), index(have)
	for k, it := range h {
		c, ok := w[k]
		switch {
		case !ok:
			a.add(k.kind, k.id, "is not in the catalog (%s): it appeared from nowhere", dir)
		case c.GoSymbol != it.GoSymbol || c.BatchID != it.BatchID || c.GoFile != it.GoFile || c.GoLineStart != it.GoLineStart || c.GoLineEnd != it.GoLineEnd:
			a.add(k.kind, k.id, "differs from the catalog: %s batch %d %s:%d-%d, catalog says %s batch %d %s:%d-%d",
				it.GoSymbol, it.BatchID, it.GoFile, it.GoLineStart, it.GoLineEnd, c.GoSymbol, c.BatchID, c.GoFile, c.GoLineStart, c.GoLineEnd)
		}
	}
	for k, c := range w {
		if _, ok := h[k]; !ok {
			a.add(k.kind, k.id, "%s is in the catalog but not in the database: it vanished", c.GoSymbol)
			a.names[gates.ItemKey{Kind: string(k.kind), ID: k.id}] = c.GoSymbol
		}
	}
	return nil
}

// auditCode re-runs the cheap gates on every verified item and the mutants
// of a sample of verified features.
func auditCode(ctx context.Context, e *env, d *db.DB, root string, items []db.Item, sample int, a *auditFindings) error {
	run, err := runAndPrintItemGates(ctx, e, d, root, items, gateOptions{skipCoverage: true})
	if err != nil {
		return err
	}
	for _, res := range run.Results {
		if !res.Passed && res.ItemID != 0 {
			a.add(db.ItemKind(res.Kind), res.ItemID, "%s gate: %s", res.Gate, res.Summary)
		}
	}
	legacy := map[gates.ItemKey]bool{}
	for _, k := range a.legacy {
		legacy[k] = true
	}
	var current []db.Item
	for _, it := range items {
		if !legacy[itemKey(it)] {
			current = append(current, it)
		}
	}
	picked := sampleFeatures(current, sample)
	if len(picked) == 0 {
		return nil
	}
	fmt.Fprintf(e.Out, "Running again the mutants of %d sampled features: %s\n", len(picked), joinIDs(picked))
	prog := newProgress(e.Out)
	srun, err := runItemGates(ctx, d, root, picked, gateOptions{Mutants: defaultMutants, onlyMutation: true}, prog)
	prog.done()
	if err != nil {
		return err
	}
	for _, res := range srun.Results {
		if res.Gate == gates.GateMutation && !res.Passed && res.Kind == string(db.KindFeature) {
			a.add(db.KindFeature, res.ItemID, "mutation gate, run again: %s", res.Summary)
		}
	}
	return nil
}

// sampleFeatures picks n verified features spread over the ID range, the
// same ones for the same record.
func sampleFeatures(items []db.Item, n int) []db.Item {
	var fs []db.Item
	for _, it := range items {
		if it.Kind == db.KindFeature {
			fs = append(fs, it)
		}
	}
	if n <= 0 || len(fs) == 0 {
		return nil
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].ID < fs[j].ID })
	if n >= len(fs) {
		return fs
	}
	var out []db.Item
	for i := 0; i < n; i++ {
		out = append(out, fs[(2*i+1)*len(fs)/(2*n)])
	}
	return out
}

func joinIDs(items []db.Item) string {
	var ids []string
	for _, it := range items {
		ids = append(ids, fmt.Sprint(it.ID))
	}
	return strings.Join(ids, ",")
}

func finishAudit(e *env, a *auditFindings, opts *auditOptions, scope string, took time.Duration) error {
	for _, n := range a.notes {
		fmt.Fprintf(e.Out, "NOTE %s\n", n)
	}
	for _, r := range a.record {
		fmt.Fprintf(e.Out, "FAIL record: %s\n", r)
	}
	var keys []gates.ItemKey
	for k := range a.why {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Kind != keys[j].Kind {
			return keys[i].Kind < keys[j].Kind
		}
		return keys[i].ID < keys[j].ID
	})
	var refused db.RefusedError
	failed := map[db.ItemKind][]int{}
	for _, k := range keys {
		fmt.Fprintf(e.Out, "FAIL %s %d %s: %s\n", k.Kind, k.ID, orDash(a.names[k]), strings.Join(a.why[k], "; "))
		failed[db.ItemKind(k.Kind)] = append(failed[db.ItemKind(k.Kind)], k.ID)
	}
	if len(a.legacy) > 0 {
		verb := "NOTE"
		if opts.Strict {
			verb = "FAIL"
		}
		var ids []string
		for _, k := range a.legacy {
			ids = append(ids, fmt.Sprintf("%s %d", k.Kind, k.ID))
			if opts.Strict && len(a.why[k]) == 0 {
				failed[db.ItemKind(k.Kind)] = append(failed[db.ItemKind(k.Kind)], k.ID)
			}
		}
		fmt.Fprintf(e.Out, "%s %d verified items need re-verification: their evidence predates the audited scheme (no target hash, no mutation run): %s\n",
			verb, len(a.legacy), abbreviate(ids, 12))
	}
	fmt.Fprintf(e.Out, "Audit took %s\n", took.Round(time.Second))
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		if ids := failed[kind]; len(ids) > 0 {
			slices.Sort(ids)
			refused.Violations = append(refused.Violations, db.Violation{Rule: "audit", Detail: kind.Plural() + " failing the audit", IDs: slices.Compact(ids)})
		}
	}
	if len(a.record) > 0 {
		refused.Violations = append(refused.Violations, db.Violation{Rule: "audit", Detail: strings.Join(a.record, "; ")})
	}
	if len(refused.Violations) > 0 {
		return &refused
	}
	_, err := fmt.Fprintf(e.Out, "Audit passed: the record of %s holds and every verified item still passes its gates.\n", scope)
	return err
}
