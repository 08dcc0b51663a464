package db

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"slices"

	"github.com/porttrack-dev/porttrack/internal/codehash"
)

// Evidence is the recorded outcome of one gate run for one item or batch.
type Evidence struct {
	ID       int64    `json:"id"`
	Kind     ItemKind `json:"item_kind"`
	ItemID   int      `json:"item_id"`
	BatchID  int      `json:"batch_id"`
	Gate     Gate     `json:"gate"`
	Passed   bool     `json:"passed"`
	Command  string   `json:"command"`
	ExitCode int      `json:"exit_code"`
	Summary  string   `json:"summary"`
	// Detail is free text or JSON with the gate's full output.
	Detail    string `json:"detail"`
	GitCommit string `json:"git_commit"`
	TreeDirty bool   `json:"tree_dirty"`
	GoVersion string `json:"go_version"`
	// CodeHash must come from (*DB).CodeHash for the evidence's batch at the
	// time the gate ran; promotions accept only evidence whose hash equals the
	// current one.
	CodeHash string `json:"code_hash"`
	// CreatedAt is set by RecordEvidence.
	CreatedAt string `json:"created_at"`
	// Target is the mapping judged ("file:symbol") and TargetHash the hash
	// of that function's source then; empty on evidence about a batch and
	// on rows recorded before schema version 2.
	Target     string `json:"target,omitempty"`
	TargetHash string `json:"target_hash,omitempty"`
}

func (e Evidence) validate() error {
	if e.Kind != KindFeature && e.Kind != KindTest && e.Kind != KindBatch {
		return &BadInputError{Msg: fmt.Sprintf("evidence: unknown item kind %q", e.Kind)}
	}
	if !slices.Contains(Gates, e.Gate) {
		return &BadInputError{Msg: fmt.Sprintf("evidence: unknown gate %q", e.Gate)}
	}
	if e.Command == "" || e.CodeHash == "" {
		return &BadInputError{Msg: fmt.Sprintf("evidence for %s %d gate %s: command and code hash are required", e.Kind, e.ItemID, e.Gate)}
	}
	return nil
}

// RecordEvidence stores gate outcomes in one transaction and returns their
// IDs in order. Each row must name an existing item (or batch) and the batch
// it belongs to.
func (d *DB) RecordEvidence(ctx context.Context, evs ...Evidence) ([]int64, error) {
	for _, e := range evs {
		if err := e.validate(); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, len(evs))
	err := d.write(ctx, func(tx *sql.Tx) error {
		at := d.timestamp()
		for _, e := range evs {
			if err := checkEvidenceSubject(ctx, tx, e); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO evidence (item_kind, item_id, batch_id, gate, passed, command, exit_code,
				summary, detail, git_commit, tree_dirty, go_version, code_hash, created_at, target, target_hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Kind, e.ItemID, e.BatchID, e.Gate, e.Passed, e.Command, e.ExitCode,
				e.Summary, e.Detail, e.GitCommit, e.TreeDirty, e.GoVersion, e.CodeHash, at, e.Target, e.TargetHash)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// checkEvidenceSubject keeps evidence from pointing at items that do not
// exist or at the wrong batch, since item_id cannot carry a foreign key to
// two tables.
func checkEvidenceSubject(ctx context.Context, tx *sql.Tx, e Evidence) error {
	var batch int
	var err error
	if e.Kind == KindBatch {
		batch = e.ItemID
		err = tx.QueryRowContext(ctx, `SELECT id FROM batches WHERE id = ?`, e.ItemID).Scan(&batch)
	} else {
		table, terr := e.Kind.table()
		if terr != nil {
			return terr
		}
		err = tx.QueryRowContext(ctx, `SELECT batch_id FROM `+table+` WHERE id = ?`, e.ItemID).Scan(&batch)
	}
	if errNoRows(err) {
		return &BadInputError{Msg: fmt.Sprintf("evidence: unknown %s %d", e.Kind, e.ItemID)}
	}
	if err != nil {
		return err
	}
	if batch != e.BatchID {
		return &BadInputError{Msg: fmt.Sprintf("evidence: %s %d belongs to batch %d, not %d", e.Kind, e.ItemID, batch, e.BatchID)}
	}
	return nil
}

// LatestEvidence returns, for each gate that has any evidence for the item,
// the most recently recorded row (passing or not).
func (d *DB) LatestEvidence(ctx context.Context, kind ItemKind, id int) (map[Gate]Evidence, error) {
	return latestEvidence(ctx, d.sql, kind, id)
}

func latestEvidence(ctx context.Context, q querier, kind ItemKind, id int) (map[Gate]Evidence, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+evidenceColumns+`
		FROM evidence e WHERE item_kind = ? AND item_id = ?
		AND id = (SELECT max(id) FROM evidence l WHERE l.item_kind = e.item_kind AND l.item_id = e.item_id AND l.gate = e.gate)`, kind, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Gate]Evidence{}
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, err
		}
		out[e.Gate] = e
	}
	return out, rows.Err()
}

// TargetDirs lists the package directories (relative to the repository
// root) that hold the mapped targets of a batch's features and tests.
func (d *DB) TargetDirs(ctx context.Context, batchID int) ([]string, error) {
	return targetDirs(ctx, d.sql, batchID)
}

func targetDirs(ctx context.Context, q querier, batchID int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT target_file FROM features WHERE batch_id = ? AND target_file <> ''
		UNION SELECT target_file FROM tests WHERE batch_id = ? AND target_file <> ''`, batchID, batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var dirs []string
	for rows.Next() {
		var file string
		if err := rows.Scan(&file); err != nil {
			return nil, err
		}
		dir := path.Dir(file)
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	slices.Sort(dirs)
	return dirs, rows.Err()
}

// CodeHash is the fingerprint evidence for items of batchID must carry: the
// hash of every .go file in the packages that hold the batch's mapped
// targets, read under root (the repository's top directory).
func (d *DB) CodeHash(ctx context.Context, root string, batchID int) (string, error) {
	dirs, err := d.TargetDirs(ctx, batchID)
	if err != nil {
		return "", err
	}
	return codehash.Dirs(root, dirs)
}
