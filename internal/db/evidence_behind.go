package db

import (
	"context"
	"fmt"
	"slices"
)

// EvidenceBehind returns the evidence a status change rested on, in the
// order of Gates. evidenceID is the change's status_log link: the newest row
// the promotion used. The rows behind it are, per gate, the latest row of
// the item recorded up to that link, kept only when it judged the same code
// (same code hash) as the link.
//
// Bounding by ID rather than by the change's timestamp is what makes this
// exact: IDs grow with every insert, while timestamps have one-second
// resolution, so verify can record a later gate (say coverage) in the same
// second as the promotion it did not take part in.
func (d *DB) EvidenceBehind(ctx context.Context, kind ItemKind, itemID int, evidenceID int64) ([]Evidence, error) {
	var hash string
	err := d.sql.QueryRowContext(ctx, `SELECT code_hash FROM evidence WHERE id = ? AND item_kind = ? AND item_id = ?`,
		evidenceID, kind, itemID).Scan(&hash)
	if errNoRows(err) {
		return nil, &BadInputError{Msg: fmt.Sprintf("evidence %d is not recorded for %s %d", evidenceID, kind, itemID)}
	}
	if err != nil {
		return nil, err
	}
	out, err := queryEvidence(ctx, d.sql, `SELECT `+evidenceColumns+`
		FROM evidence e WHERE item_kind = ? AND item_id = ? AND code_hash = ?
		AND id = (SELECT max(id) FROM evidence l WHERE l.item_kind = e.item_kind AND l.item_id = e.item_id AND l.gate = e.gate AND l.id <= ?)`,
		kind, itemID, hash, evidenceID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Evidence) int { return slices.Index(Gates, a.Gate) - slices.Index(Gates, b.Gate) })
	return out, nil
}

// evidenceColumns is the select list scanEvidence reads, in its order.
const evidenceColumns = `id, item_kind, item_id, batch_id, gate, passed, command, exit_code, summary, detail,
	git_commit, tree_dirty, go_version, code_hash, created_at, target, target_hash`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanEvidence(r rowScanner) (Evidence, error) {
	var e Evidence
	err := r.Scan(&e.ID, &e.Kind, &e.ItemID, &e.BatchID, &e.Gate, &e.Passed, &e.Command, &e.ExitCode, &e.Summary, &e.Detail,
		&e.GitCommit, &e.TreeDirty, &e.GoVersion, &e.CodeHash, &e.CreatedAt, &e.Target, &e.TargetHash)
	return e, err
}
