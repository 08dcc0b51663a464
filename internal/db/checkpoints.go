package db

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// checkpointViolations applies the design's checkpoint protocol to a batch
// about to complete: every group or wave that has verified items must have
// had a passing checkpoint (a checkpoint without a slice covers the whole
// batch), and the batch's latest checkpoint must have passed, so that the
// last word on the batch's build and suite is not a failure. A batch with
// nothing verified has nothing a checkpoint could confirm.
func checkpointViolations(ctx context.Context, q querier, batchID int) ([]Violation, error) {
	slicesDone, anyVerified, err := verifiedSlices(ctx, q, batchID)
	if err != nil || !anyVerified {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, passed, detail FROM evidence
		WHERE item_kind = ? AND item_id = ? AND gate = ? ORDER BY id`, KindBatch, batchID, GateCheckpoint)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		latestID     int64
		latestPassed bool
		latestSlice  string
		passedSlices []string
		wholeBatch   bool
	)
	for rows.Next() {
		var (
			id     int64
			passed bool
			detail string
		)
		if err := rows.Scan(&id, &passed, &detail); err != nil {
			return nil, err
		}
		slice, known := checkpointSlice(detail)
		latestID, latestPassed, latestSlice = id, passed, slice
		switch {
		case !known:
			// A detail we cannot read confirms no particular slice.
		case passed && slice == "":
			wholeBatch = true
		case passed && !slices.Contains(passedSlices, slice):
			passedSlices = append(passedSlices, slice)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	const rule = "batch-checkpoint"
	if latestID == 0 {
		return []Violation{{Rule: rule, Detail: fmt.Sprintf("batch %d has verified items but no checkpoint; run porttrack checkpoint --batch %d", batchID, batchID)}}, nil
	}
	var out []Violation
	if !latestPassed {
		what := fmt.Sprintf("evidence %d", latestID)
		if latestSlice != "" {
			what += ", slice " + latestSlice
		}
		out = append(out, Violation{Rule: rule, Detail: fmt.Sprintf("the latest checkpoint of batch %d (%s) failed; fix it and run the checkpoint again", batchID, what)})
	}
	if !wholeBatch {
		var missing []string
		for _, s := range slicesDone {
			if s != "" && !slices.Contains(passedSlices, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			out = append(out, Violation{Rule: rule, Detail: fmt.Sprintf("batch %d has verified items in slices without a passing checkpoint: %s", batchID, strings.Join(missing, ", "))})
		}
	}
	return out, nil
}

// verifiedSlices lists the distinct slices ("" for none) of a batch's
// verified features and tests.
func verifiedSlices(ctx context.Context, q querier, batchID int) (found []string, anyVerified bool, err error) {
	rows, err := q.QueryContext(ctx, `SELECT slice FROM features WHERE batch_id = ?1 AND status = 'verified'
		UNION SELECT slice FROM tests WHERE batch_id = ?1 AND status = 'verified' ORDER BY 1`, batchID)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, false, err
		}
		found, anyVerified = append(found, s), true
	}
	return found, anyVerified, rows.Err()
}

// checkpointSlice reads the slice a checkpoint closed ("" for the whole
// batch) from its evidence detail, the JSON object porttrack checkpoint
// records; known is false if the detail cannot be read.
func checkpointSlice(detail string) (slice string, known bool) {
	var d struct {
		Slice *string `json:"slice"`
	}
	if json.Unmarshal([]byte(detail), &d) != nil || d.Slice == nil {
		return "", false
	}
	return *d.Slice, true
}
