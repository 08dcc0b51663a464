package db

import (
	"context"
	"fmt"
)

// EvidenceOf returns every evidence row of one item or batch, oldest first:
// a batch's checkpoints, an item's gate runs.
func (d *DB) EvidenceOf(ctx context.Context, kind ItemKind, id int) ([]Evidence, error) {
	return queryEvidence(ctx, d.sql, `SELECT `+evidenceColumns+` FROM evidence WHERE item_kind = ? AND item_id = ? ORDER BY id`, kind, id)
}

// queryEvidence runs a query that selects evidenceColumns.
func queryEvidence(ctx context.Context, q querier, query string, args ...any) ([]Evidence, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EvidenceRow returns one evidence row by ID; a *BadInputError if none.
func (d *DB) EvidenceRow(ctx context.Context, id int64) (Evidence, error) {
	evs, err := queryEvidence(ctx, d.sql, `SELECT `+evidenceColumns+` FROM evidence WHERE id = ?`, id)
	if err != nil {
		return Evidence{}, err
	}
	if len(evs) == 0 {
		return Evidence{}, &BadInputError{Msg: fmt.Sprintf("no evidence row %d", id)}
	}
	return evs[0], nil
}

// LogRow returns one status_log row by ID; a *BadInputError if none.
func (d *DB) LogRow(ctx context.Context, id int64) (LogEntry, error) {
	rows, err := d.logRows(ctx, `WHERE id = ?`, id)
	if err != nil {
		return LogEntry{}, err
	}
	if len(rows) == 0 {
		return LogEntry{}, &BadInputError{Msg: fmt.Sprintf("no status log row %d", id)}
	}
	return rows[0], nil
}
