package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// StartBatch moves a pending batch to in_progress. This is the preflight
// dependency gate: it is refused, naming each blocking batch and how much of
// it is unfinished, unless every dependency is complete.
func (d *DB) StartBatch(ctx context.Context, id int, actor string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		b, err := loadBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if b.Status != BatchPending {
			return refuse("batch-start", fmt.Sprintf("batch %d is %s; only a pending batch can start", id, b.Status))
		}
		if err := refuseEmpty(ctx, tx, b, "start"); err != nil {
			return err
		}
		var blockers []string
		for _, dep := range b.DependsOn {
			depBatch, err := loadBatch(ctx, tx, dep)
			if err != nil {
				return err
			}
			if depBatch.Status == BatchComplete {
				continue
			}
			features, tests, err := unfinishedCounts(ctx, tx, dep)
			if err != nil {
				return err
			}
			blockers = append(blockers, fmt.Sprintf("batch %d %s is %s with %d features and %d tests not verified or n_a", dep, depBatch.Name, depBatch.Status, features, tests))
		}
		if len(blockers) > 0 {
			return refuse("batch-can-start", fmt.Sprintf("batch %d cannot start: %s", id, strings.Join(blockers, "; ")))
		}
		return setBatchStatus(ctx, tx, id, b.Status, BatchInProgress, "dependencies complete", actor, d.timestamp())
	})
}

// unfinishedCounts counts a batch's items that are neither verified nor n_a.
func unfinishedCounts(ctx context.Context, q querier, batchID int) (features, tests int, err error) {
	err = q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM features WHERE batch_id = ?1 AND status NOT IN ('verified', 'n_a')),
		(SELECT count(*) FROM tests WHERE batch_id = ?1 AND status NOT IN ('verified', 'n_a'))`, batchID).Scan(&features, &tests)
	return features, tests, err
}

// CompleteBatch moves an in_progress batch to complete. Refused unless every
// feature and test of the batch is verified, or deferred or n_a with an
// explicit reason: an item still deferred since the import carries only the
// catalog's default reason, which explains nothing. A batch with verified
// items also needs its checkpoints (see checkpointViolations).
func (d *DB) CompleteBatch(ctx context.Context, id int, actor string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		b, err := loadBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		if b.Status != BatchInProgress {
			return refuse("batch-complete", fmt.Sprintf("batch %d is %s; only an in_progress batch can complete", id, b.Status))
		}
		if err := refuseEmpty(ctx, tx, b, "complete"); err != nil {
			return err
		}
		var refusal RefusedError
		for _, kind := range []ItemKind{KindFeature, KindTest} {
			open, err := unfinishedItems(ctx, tx, kind, id)
			if err != nil {
				return err
			}
			if len(open) > 0 {
				refusal.Violations = append(refusal.Violations, Violation{
					Rule:   "batch-complete",
					Detail: fmt.Sprintf("batch %d has %s neither verified nor deferred/n_a with an explicit reason", id, kind.Plural()),
					IDs:    open,
				})
			}
		}
		cps, err := checkpointViolations(ctx, tx, id)
		if err != nil {
			return err
		}
		refusal.Violations = append(refusal.Violations, cps...)
		if len(refusal.Violations) > 0 {
			return &refusal
		}
		return setBatchStatus(ctx, tx, id, b.Status, BatchComplete, "every item verified or explicitly deferred", actor, d.timestamp())
	})
}

// unfinishedItems lists the items that keep a batch from completing. A
// deferred item counts as explained only if its latest log row is a real
// change (from_status set), not the import row.
func unfinishedItems(ctx context.Context, q querier, kind ItemKind, batchID int) ([]int, error) {
	table, err := kind.table()
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT i.id FROM `+table+` i WHERE i.batch_id = ? AND (
		i.status IN ('stub', 'complete')
		OR (i.status IN ('deferred', 'n_a') AND (trim(i.reason) = '' OR COALESCE(
			(SELECT l.from_status IS NULL FROM status_log l WHERE l.item_kind = ? AND l.item_id = i.id ORDER BY l.id DESC LIMIT 1), 1))))
		ORDER BY i.id`, batchID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func setBatchStatus(ctx context.Context, tx *sql.Tx, id int, from, to BatchStatus, reason, actor, at string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET status = ? WHERE id = ?`, to, id); err != nil {
		return err
	}
	return logChange(ctx, tx, KindBatch, id, string(from), string(to), reason, actor, at, nil)
}

// ReadyBatches returns the pending batches whose dependencies are all
// complete and that have items to take.
func (d *DB) ReadyBatches(ctx context.Context) ([]Batch, error) {
	all, err := loadBatches(ctx, d.sql)
	if err != nil {
		return nil, err
	}
	withItems, err := batchesWithItems(ctx, d.sql)
	if err != nil {
		return nil, err
	}
	byID := map[int]Batch{}
	for _, b := range all {
		byID[b.ID] = b
	}
	ready := []Batch{}
	for _, b := range all {
		if b.Status == BatchPending && len(unfinishedDeps(b, byID)) == 0 && withItems[b.ID] {
			ready = append(ready, b)
		}
	}
	return ready, nil
}

// StatusCount is how many items of a kind have a status, optionally per batch.
type StatusCount struct {
	Kind    ItemKind `json:"kind"`
	BatchID int      `json:"batch"`
	Status  Status   `json:"status"`
	Count   int      `json:"count"`
}

// StatusCounts groups every item by kind, batch and status.
func (d *DB) StatusCounts(ctx context.Context) ([]StatusCount, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT 'feature', batch_id, status, count(*) FROM features GROUP BY batch_id, status
		UNION ALL SELECT 'test', batch_id, status, count(*) FROM tests GROUP BY batch_id, status
		ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusCount
	for rows.Next() {
		var c StatusCount
		if err := rows.Scan(&c.Kind, &c.BatchID, &c.Status, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
