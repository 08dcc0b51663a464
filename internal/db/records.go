package db

import "context"

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
