package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Batches returns every batch in id order with its dependency edges.
func (d *DB) Batches(ctx context.Context) ([]Batch, error) {
	return loadBatches(ctx, d.sql)
}

// Batch returns one batch; an unknown id is a *BadInputError.
func (d *DB) Batch(ctx context.Context, id int) (Batch, error) {
	return loadBatch(ctx, d.sql, id)
}

func loadBatch(ctx context.Context, q querier, id int) (Batch, error) {
	all, err := loadBatches(ctx, q)
	if err != nil {
		return Batch{}, err
	}
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	return Batch{}, &BadInputError{Msg: fmt.Sprintf("unknown batch %d", id)}
}

func loadBatches(ctx context.Context, q querier) ([]Batch, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, go_file, status, description FROM batches ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Batch
	index := map[int]int{}
	for rows.Next() {
		b := Batch{DependsOn: []int{}, Gates: []int{}}
		if err := rows.Scan(&b.ID, &b.Name, &b.GoFile, &b.Status, &b.Description); err != nil {
			return nil, err
		}
		index[b.ID] = len(out)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	deps, err := q.QueryContext(ctx, `SELECT batch_id, depends_on FROM batch_deps ORDER BY batch_id, depends_on`)
	if err != nil {
		return nil, err
	}
	defer deps.Close()
	for deps.Next() {
		var batch, dep int
		if err := deps.Scan(&batch, &dep); err != nil {
			return nil, err
		}
		out[index[batch]].DependsOn = append(out[index[batch]].DependsOn, dep)
		out[index[dep]].Gates = append(out[index[dep]].Gates, batch)
	}
	return out, deps.Err()
}

// ItemFilter narrows Items; zero fields match everything.
type ItemFilter struct {
	BatchID int
	Status  Status
	Slice   string
	// IDs, when set, restricts the result to these IDs.
	IDs []int
}

const itemColumns = `id, batch_id, slice, go_file, go_symbol, go_line_start, go_line_end, target_file, target_symbol, status, reason, map_reason`

// Items returns the items of one kind matching f, in ID order.
func (d *DB) Items(ctx context.Context, kind ItemKind, f ItemFilter) ([]Item, error) {
	return loadItems(ctx, d.sql, kind, f)
}

func loadItems(ctx context.Context, q querier, kind ItemKind, f ItemFilter) ([]Item, error) {
	table, err := kind.table()
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.BatchID != 0 {
		where = append(where, "batch_id = ?")
		args = append(args, f.BatchID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Slice != "" {
		where = append(where, "slice = ?")
		args = append(args, f.Slice)
	}
	if len(f.IDs) > 0 {
		where = append(where, "id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.IDs)), ",")+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	query := "SELECT " + itemColumns + " FROM " + table
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it := Item{Kind: kind}
		if err := rows.Scan(&it.ID, &it.BatchID, &it.Slice, &it.GoFile, &it.GoSymbol, &it.GoLineStart, &it.GoLineEnd,
			&it.TargetFile, &it.TargetSymbol, &it.Status, &it.Reason, &it.MapReason); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Item returns one item; an unknown ID is a *BadInputError.
func (d *DB) Item(ctx context.Context, kind ItemKind, id int) (Item, error) {
	items, err := loadItems(ctx, d.sql, kind, ItemFilter{IDs: []int{id}})
	if err != nil {
		return Item{}, err
	}
	if len(items) == 0 {
		return Item{}, &BadInputError{Msg: fmt.Sprintf("unknown %s %d", kind, id)}
	}
	return items[0], nil
}

// Callers returns the features that call feature id, per the catalog's call graph.
func (d *DB) Callers(ctx context.Context, id int) ([]Item, error) {
	return d.callNeighbours(ctx, `SELECT caller_id FROM calls WHERE callee_id = ?`, id)
}

// Callees returns the features that feature id calls.
func (d *DB) Callees(ctx context.Context, id int) ([]Item, error) {
	return d.callNeighbours(ctx, `SELECT callee_id FROM calls WHERE caller_id = ?`, id)
}

func (d *DB) callNeighbours(ctx context.Context, query string, id int) ([]Item, error) {
	rows, err := d.sql.QueryContext(ctx, query, id)
	if err != nil {
		return nil, err
	}
	var ids []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []Item{}, nil
	}
	return loadItems(ctx, d.sql, KindFeature, ItemFilter{IDs: ids})
}

// History returns the status_log rows of one item (or batch), oldest first.
func (d *DB) History(ctx context.Context, kind ItemKind, id int) ([]LogEntry, error) {
	return d.logRows(ctx, `WHERE item_kind = ? AND item_id = ?`, kind, id)
}

// Log returns every status_log row, of items and batches, oldest first:
// the whole record of who changed what and when.
func (d *DB) Log(ctx context.Context) ([]LogEntry, error) {
	return d.logRows(ctx, ``)
}

func (d *DB) logRows(ctx context.Context, where string, args ...any) ([]LogEntry, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, item_kind, item_id, from_status, to_status, reason, actor, at, evidence_id
		FROM status_log `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LogEntry{}
	for rows.Next() {
		var e LogEntry
		var from sql.NullString
		var ev sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Kind, &e.ItemID, &from, &e.To, &e.Reason, &e.Actor, &e.At, &ev); err != nil {
			return nil, err
		}
		e.From = from.String
		if ev.Valid {
			e.EvidenceID = &ev.Int64
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetTarget records where an item lives in this repository. Mapping is not a
// status change, so it is not logged and no promotion rule applies; the
// audit asks a reason of a target named otherwise than its reference symbol
// (SetTargetWithReason).
func (d *DB) SetTarget(ctx context.Context, kind ItemKind, id int, file, symbol string) error {
	return d.SetTargetWithReason(ctx, kind, id, file, symbol, "")
}

// SetTargetWithReason is SetTarget recording why the target's name differs
// from the reference symbol (empty when it does not).
func (d *DB) SetTargetWithReason(ctx context.Context, kind ItemKind, id int, file, symbol, reason string) error {
	table, err := kind.table()
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET target_file = ?, target_symbol = ?, map_reason = ? WHERE id = ?`, file, symbol, reason, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return &BadInputError{Msg: fmt.Sprintf("unknown %s %d", kind, id)}
		}
		return nil
	})
}

// Target is one mapping for SetTargets.
type Target struct {
	ID     int
	File   string
	Symbol string
}

// SetTargets records many mappings in one transaction.
func (d *DB) SetTargets(ctx context.Context, kind ItemKind, targets []Target) error {
	table, err := kind.table()
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		for _, t := range targets {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET target_file = ?, target_symbol = ? WHERE id = ?`, t.File, t.Symbol, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// errNoRows reports whether err is sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
