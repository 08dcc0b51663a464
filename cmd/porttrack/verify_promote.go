package main

import (
	"context"
	"fmt"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// promotionReason is stored as the reason of every item verify promotes.
const promotionReason = "passed every gate (porttrack verify --promote)"

// promotionStep is one status move for a list of items of one kind.
type promotionStep struct {
	Kind db.ItemKind
	To   db.Status
	IDs  []int
}

// promotionSteps lists the moves for the items that passed every gate:
// features to complete (unless they are already), then to verified; tests
// straight to verified. Verified items are left alone.
func promotionSteps(run *gateRun) []promotionStep {
	toComplete := promotionStep{Kind: db.KindFeature, To: db.StatusComplete}
	features := promotionStep{Kind: db.KindFeature, To: db.StatusVerified}
	tests := promotionStep{Kind: db.KindTest, To: db.StatusVerified}
	for _, it := range run.Items {
		if !run.Verdicts[itemKey(it)] || it.Status == db.StatusVerified {
			continue
		}
		if it.Kind == db.KindTest {
			tests.IDs = append(tests.IDs, it.ID)
			continue
		}
		if it.Status != db.StatusComplete {
			toComplete.IDs = append(toComplete.IDs, it.ID)
		}
		features.IDs = append(features.IDs, it.ID)
	}
	return []promotionStep{toComplete, features, tests}
}

// promote applies the steps in chunks of at most db.MaxIDsPerCall IDs, each
// chunk one ChangeItemStatus call and so one transaction that links every
// change to the evidence it rests on. A refused chunk stops the promotion;
// the chunks before it stay applied and are listed.
func promote(ctx context.Context, e *env, d *db.DB, root string, run *gateRun, batch int) ([]promotedChange, error) {
	var moved []promotedChange
	var stepErr error
	for _, step := range promotionSteps(run) {
		for start := 0; start < len(step.IDs) && stepErr == nil; start += db.MaxIDsPerCall {
			chunk := step.IDs[start:min(start+db.MaxIDsPerCall, len(step.IDs))]
			plan, err := d.ChangeItemStatus(ctx, db.StatusChange{
				Kind: step.Kind, IDs: chunk, To: step.To, Reason: promotionReason,
				BatchID: batch, Actor: e.Actor, Root: root,
			})
			if err != nil {
				stepErr = fmt.Errorf("promotion stopped at %s %s to %s: %w", step.Kind.Plural(), formatIDs(chunk), step.To, err)
				break
			}
			for _, c := range plan.Changes {
				moved = append(moved, promotedChange{Kind: step.Kind, PlannedChange: c})
			}
		}
	}
	fmt.Fprintf(e.Out, "Promoted: %d status changes\n", len(moved))
	if len(moved) > 0 {
		rows := make([][]string, len(moved))
		for i, c := range moved {
			ev := "-"
			if c.EvidenceID != nil {
				ev = fmt.Sprint(*c.EvidenceID)
			}
			rows[i] = []string{string(c.Kind), fmt.Sprint(c.ID), string(c.From), string(c.To), ev}
		}
		if err := renderTable(e.Out, []string{"Kind", "ID", "From", "To", "Evidence"}, rows); err != nil {
			return moved, err
		}
	}
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		if ids := run.failed(kind); len(ids) > 0 {
			fmt.Fprintf(e.Out, "Not promoted, failed a gate: %s %s\n", kind.Plural(), formatIDs(ids))
		}
	}
	return moved, stepErr
}

// promotedChange is one status move of a promotion, as --json prints it.
type promotedChange struct {
	Kind db.ItemKind `json:"kind"`
	db.PlannedChange
}
