package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/porttrack-dev/porttrack/internal/codehash"
)

// MaxIDsPerCall is the design's chunk rule: one status update names at most
// this many IDs, so every promotion stays small enough to review.
const MaxIDsPerCall = 15

// StatusChange asks to move items of one kind to one status.
type StatusChange struct {
	Kind ItemKind
	IDs  []int
	To   Status
	// Reason is the explicit reason (the CLI's --override). Moves to deferred
	// or n_a require one; for other moves it is stored as the item's reason.
	Reason string
	// BatchID, when non-zero, requires every ID to belong to that batch.
	BatchID int
	// Actor is recorded in status_log.
	Actor string
	// Root is the repository's top directory; moves to complete or verified
	// compare evidence code hashes with the code found under it.
	Root string
	// DryRun checks every rule and returns the plan without writing.
	DryRun bool
}

// PlannedChange is one item's move.
type PlannedChange struct {
	ID      int    `json:"id"`
	BatchID int    `json:"batch"`
	From    Status `json:"from"`
	To      Status `json:"to"`
	Reason  string `json:"reason"`
	// EvidenceID is the newest evidence row the promotion rests on; it is
	// linked from the status_log row. Nil for moves that need no evidence.
	EvidenceID *int64 `json:"evidence_id"`
}

// Plan is what a StatusChange does (or, for a dry run, would do).
type Plan struct {
	Changes []PlannedChange `json:"changes"`
	// Unchanged lists IDs already at the requested status and reason.
	Unchanged []int `json:"unchanged"`
}

// ChangeItemStatus checks every rule for every ID before writing anything,
// then applies all changes and their status_log rows in one transaction.
// Rule failures return a *RefusedError with one Violation per rule; unknown
// or malformed input returns a *BadInputError. Either way nothing is written.
//
// The rules: at most MaxIDsPerCall IDs; every ID exists (and is in BatchID
// when given); moves to deferred or n_a carry a Reason; no item changes while
// its batch cannot start (a dependency is not complete) or after its batch is
// complete; moves to complete or verified need, for every gate in
// RequiredGates, a latest evidence row that passed and whose code hash equals
// the batch's current CodeHash, and no failing latest row of an OptionalGates
// gate taken on the current code.
func (d *DB) ChangeItemStatus(ctx context.Context, req StatusChange) (Plan, error) {
	if err := precheck(req); err != nil {
		return Plan{}, err
	}
	if req.DryRun {
		return d.plan(ctx, d.sql, req)
	}
	var plan Plan
	err := d.write(ctx, func(tx *sql.Tx) error {
		var err error
		plan, err = d.plan(ctx, tx, req)
		if err != nil {
			return err
		}
		table, err := req.Kind.table()
		if err != nil {
			return err
		}
		at := d.timestamp()
		for _, c := range plan.Changes {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET status = ?, reason = ? WHERE id = ?`, c.To, c.Reason, c.ID); err != nil {
				return err
			}
			if err := logChange(ctx, tx, req.Kind, c.ID, string(c.From), string(c.To), c.Reason, req.Actor, at, c.EvidenceID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// precheck covers what can be judged without reading the database.
func precheck(req StatusChange) error {
	if _, err := req.Kind.table(); err != nil {
		return err
	}
	if _, err := ParseStatus(string(req.To)); err != nil {
		return err
	}
	if len(req.IDs) == 0 {
		return &BadInputError{Msg: "no IDs given"}
	}
	sorted := slices.Clone(req.IDs)
	slices.Sort(sorted)
	if dup := duplicates(sorted); len(dup) > 0 {
		return &BadInputError{Msg: "duplicate IDs: " + JoinIDs(dup)}
	}
	if len(req.IDs) > MaxIDsPerCall {
		return refuse("chunk", fmt.Sprintf("%d IDs in one call, at most %d allowed; split the list", len(req.IDs), MaxIDsPerCall))
	}
	if req.Actor == "" {
		return &BadInputError{Msg: "status change without an actor"}
	}
	if (req.To == StatusComplete || req.To == StatusVerified) && req.Root == "" {
		return &BadInputError{Msg: "a move to " + string(req.To) + " needs the repository root to check evidence against the current code"}
	}
	return nil
}

func duplicates(sorted []int) []int {
	var dup []int
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] && !slices.Contains(dup, sorted[i]) {
			dup = append(dup, sorted[i])
		}
	}
	return dup
}

func (d *DB) plan(ctx context.Context, q querier, req StatusChange) (Plan, error) {
	items, err := loadItems(ctx, q, req.Kind, ItemFilter{IDs: req.IDs})
	if err != nil {
		return Plan{}, err
	}
	if len(items) != len(req.IDs) {
		var unknown []int
		for _, id := range req.IDs {
			if !slices.ContainsFunc(items, func(it Item) bool { return it.ID == id }) {
				unknown = append(unknown, id)
			}
		}
		slices.Sort(unknown)
		return Plan{}, &BadInputError{Msg: fmt.Sprintf("unknown %s IDs: %s", req.Kind, JoinIDs(unknown))}
	}
	batches, err := loadBatches(ctx, q)
	if err != nil {
		return Plan{}, err
	}
	byID := map[int]Batch{}
	for _, b := range batches {
		byID[b.ID] = b
	}

	var refusal RefusedError
	add := func(rule, detail string, ids []int) {
		if len(ids) > 0 {
			refusal.Violations = append(refusal.Violations, Violation{Rule: rule, Detail: detail, IDs: ids})
		}
	}

	if req.BatchID != 0 {
		var outside []int
		for _, it := range items {
			if it.BatchID != req.BatchID {
				outside = append(outside, it.ID)
			}
		}
		add("batch-scope", fmt.Sprintf("%s not in batch %d", req.Kind.Plural(), req.BatchID), outside)
	}
	if (req.To == StatusDeferred || req.To == StatusNA) && strings.TrimSpace(req.Reason) == "" {
		add("override", fmt.Sprintf("moving to %s needs an explicit reason (--override \"reason\")", req.To), req.IDs)
	}
	for _, b := range batches {
		var inBatch []int
		for _, it := range items {
			if it.BatchID == b.ID {
				inBatch = append(inBatch, it.ID)
			}
		}
		if len(inBatch) == 0 {
			continue
		}
		if blockers := unfinishedDeps(b, byID); len(blockers) > 0 {
			add("batch-can-start", fmt.Sprintf("batch %d cannot start, it depends on %s; no item may change status", b.ID, strings.Join(blockers, ", ")), inBatch)
		}
		if b.Status == BatchComplete {
			add("batch-complete", fmt.Sprintf("batch %d is complete; its items are frozen", b.ID), inBatch)
		}
	}

	evidenceFor := map[int]*int64{}
	if req.To == StatusComplete || req.To == StatusVerified {
		v, links, err := d.checkEvidence(ctx, q, req, items)
		if err != nil {
			return Plan{}, err
		}
		refusal.Violations = append(refusal.Violations, v...)
		evidenceFor = links
	}
	if len(refusal.Violations) > 0 {
		return Plan{}, &refusal
	}

	plan := Plan{Changes: []PlannedChange{}, Unchanged: []int{}}
	for _, it := range items {
		if it.Status == req.To && it.Reason == req.Reason {
			plan.Unchanged = append(plan.Unchanged, it.ID)
			continue
		}
		plan.Changes = append(plan.Changes, PlannedChange{
			ID: it.ID, BatchID: it.BatchID, From: it.Status, To: req.To, Reason: req.Reason, EvidenceID: evidenceFor[it.ID],
		})
	}
	return plan, nil
}

// unfinishedDeps names each dependency of b that is not complete, with its status.
func unfinishedDeps(b Batch, byID map[int]Batch) []string {
	var out []string
	for _, dep := range b.DependsOn {
		if s := byID[dep].Status; s != BatchComplete {
			out = append(out, fmt.Sprintf("batch %d (%s)", dep, s))
		}
	}
	return out
}

// checkEvidence applies the evidence rule and returns, per admitted item, the
// newest evidence row it rests on.
func (d *DB) checkEvidence(ctx context.Context, q querier, req StatusChange, items []Item) ([]Violation, map[int]*int64, error) {
	gates := RequiredGates(req.Kind, req.To)
	need := fmt.Sprintf("moving to %s needs passing evidence for gates %s", req.To, joinGates(gates))
	hashes := map[int]string{}
	var unmapped, missing, failed, optionalFailed, stale []int
	links := map[int]*int64{}
	for _, it := range items {
		if it.TargetFile == "" {
			unmapped = append(unmapped, it.ID)
			continue
		}
		current, ok := hashes[it.BatchID]
		if !ok {
			dirs, err := targetDirs(ctx, q, it.BatchID)
			if err != nil {
				return nil, nil, err
			}
			current, err = codehash.Dirs(req.Root, dirs)
			if err != nil {
				return nil, nil, err
			}
			hashes[it.BatchID] = current
		}
		latest, err := latestEvidence(ctx, q, req.Kind, it.ID)
		if err != nil {
			return nil, nil, err
		}
		var newest int64
		var isMissing, isFailed, isStale bool
		for _, g := range gates {
			e, ok := latest[g]
			switch {
			case !ok:
				isMissing = true
			case !e.Passed:
				isFailed = true
			case e.CodeHash != current:
				isStale = true
			default:
				newest = max(newest, e.ID)
			}
		}
		var optionalFailing bool
		for _, g := range OptionalGates(req.Kind, req.To) {
			if e, ok := latest[g]; ok && e.CodeHash == current {
				optionalFailing = optionalFailing || !e.Passed
				newest = max(newest, e.ID)
			}
		}
		switch {
		case isMissing:
			missing = append(missing, it.ID)
		case isFailed:
			failed = append(failed, it.ID)
		case isStale:
			stale = append(stale, it.ID)
		case optionalFailing:
			optionalFailed = append(optionalFailed, it.ID)
		default:
			links[it.ID] = &newest
		}
	}
	var v []Violation
	if len(unmapped) > 0 {
		v = append(v, Violation{Rule: "evidence", Detail: fmt.Sprintf("moving to %s needs a mapped target (%s map) first", req.To, req.Kind), IDs: unmapped})
	}
	if len(missing) > 0 {
		v = append(v, Violation{Rule: "evidence", Detail: need + "; none recorded for", IDs: missing})
	}
	if len(failed) > 0 {
		v = append(v, Violation{Rule: "evidence", Detail: need + "; latest run failed for", IDs: failed})
	}
	if len(optionalFailed) > 0 {
		v = append(v, Violation{Rule: "evidence", Detail: fmt.Sprintf("moving to %s needs any opt-in gate (%s) run on the current code to have passed; it failed for", req.To, joinGates(OptionalGates(req.Kind, req.To))), IDs: optionalFailed})
	}
	if len(stale) > 0 {
		v = append(v, Violation{Rule: "evidence", Detail: need + "; code changed since it was recorded for", IDs: stale})
	}
	return v, links, nil
}

func joinGates(gates []Gate) string {
	names := make([]string, len(gates))
	for i, g := range gates {
		names[i] = string(g)
	}
	return strings.Join(names, ",")
}
