package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
)

// The ledger makes the record tamper-evident. Every evidence row and every
// status_log row carries chain = sha256(previous chain, the row's columns),
// in id order, each table its own chain; the ledger row keeps each chain's
// head and length, and the hash of the catalog (the items and their
// reference spans) as porttrack last wrote it (init, import).
// porttrack seals the rows of each write transaction before it commits, so
// a row edited by hand breaks its chain, a deleted row breaks the next one
// (or, the last one, the head), and a row inserted by hand has no chain.
// It is evidence of tampering, not a signature: whoever runs this code on
// an edited file can reseal it, which audit cannot tell from a real write
// but review of the committed porting.db diff can.

const ledgerVersion = "porttrack-ledger-v1"

// evidenceChainColumns and logChainColumns are the columns a chain hashes.
const (
	evidenceChainColumns = `id, item_kind, item_id, batch_id, gate, passed, command, exit_code, summary, detail,
	git_commit, tree_dirty, go_version, code_hash, created_at, target, target_hash`
	logChainColumns = `id, item_kind, item_id, coalesce(from_status, ''), to_status, reason, actor, at, coalesce(evidence_id, 0)`
)

func maxRowIDs(ctx context.Context, q querier) (ev, log int64, err error) {
	if err = q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM evidence`).Scan(&ev); err != nil {
		return
	}
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM status_log`).Scan(&log)
	return
}

// catalogHash fingerprints the items as the catalog defines them.
func catalogHash(ctx context.Context, q querier) (string, error) {
	h := sha256.New()
	for _, table := range []string{"features", "tests"} {
		rows, err := q.QueryContext(ctx, `SELECT id, batch_id, slice, go_file, go_symbol, go_line_start, go_line_end FROM `+table+` ORDER BY id`)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var id, batch, from, to int
			var slice, file, sym string
			if err := rows.Scan(&id, &batch, &slice, &file, &sym, &from, &to); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%s\x00%s\x00%d\x00%d\n", table, id, batch, slice, file, sym, from, to)
		}
		if err := rows.Close(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func link(prev string, cols []any) string {
	h := sha256.New()
	h.Write([]byte(prev))
	for _, c := range cols {
		s := fmt.Sprint(c)
		fmt.Fprintf(h, "\x00%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func genesis(table string) string {
	return link(ledgerVersion, []any{table})
}

// recordCatalog stores the catalog hash of the items as they are now: the
// writes that legitimately change the catalog (Import, AddCatalog) call it.
func recordCatalog(ctx context.Context, tx *sql.Tx) error {
	if _, ok, err := readLedger(ctx, tx); err != nil {
		return err
	} else if !ok {
		if err := seal(ctx, tx, 0, 0); err != nil {
			return err
		}
	}
	c, err := catalogHash(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE ledger SET catalog_hash = ? WHERE id = 1`, c)
	return err
}

type ledgerRow struct {
	catalog, evHead, logHead string
	evRows, logRows          int64
}

func readLedger(ctx context.Context, q querier) (ledgerRow, bool, error) {
	var l ledgerRow
	err := q.QueryRowContext(ctx, `SELECT catalog_hash, evidence_head, evidence_rows, log_head, log_rows FROM ledger WHERE id = 1`).
		Scan(&l.catalog, &l.evHead, &l.evRows, &l.logHead, &l.logRows)
	if errNoRows(err) {
		return l, false, nil
	}
	return l, err == nil, err
}

// seal chains the unsealed rows with ids above the given ones and moves the
// ledger's heads; with no ledger row yet it opens the ledger over the
// catalog as it is and seals every row.
func seal(ctx context.Context, tx *sql.Tx, evAbove, logAbove int64) error {
	l, ok, err := readLedger(ctx, tx)
	if err != nil {
		return err
	}
	if !ok {
		c, err := catalogHash(ctx, tx)
		if err != nil {
			return err
		}
		l = ledgerRow{catalog: c, evHead: genesis("evidence"), logHead: genesis("status_log")}
		evAbove, logAbove = 0, 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger (id, catalog_hash, evidence_head, evidence_rows, log_head, log_rows) VALUES (1, ?, ?, 0, ?, 0)`,
			l.catalog, l.evHead, l.logHead); err != nil {
			return err
		}
	}
	evHead, evN, err := sealTable(ctx, tx, "evidence", evidenceChainColumns, 17, evAbove, l.evHead)
	if err != nil {
		return err
	}
	logHead, logN, err := sealTable(ctx, tx, "status_log", logChainColumns, 9, logAbove, l.logHead)
	if err != nil {
		return err
	}
	if evN == 0 && logN == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE ledger SET evidence_head = ?, evidence_rows = evidence_rows + ?, log_head = ?, log_rows = log_rows + ? WHERE id = 1`,
		evHead, evN, logHead, logN)
	return err
}

func sealTable(ctx context.Context, tx *sql.Tx, table, cols string, n int, above int64, head string) (string, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE chain = '' AND id > ? ORDER BY id`, above)
	if err != nil {
		return "", 0, err
	}
	type sealed struct {
		id    any
		chain string
	}
	var out []sealed
	for rows.Next() {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return "", 0, err
		}
		head = link(head, normalize(vals))
		out = append(out, sealed{vals[0], head})
	}
	if err := rows.Close(); err != nil {
		return "", 0, err
	}
	for _, s := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET chain = ? WHERE id = ?`, s.chain, s.id); err != nil {
			return "", 0, err
		}
	}
	return head, int64(len(out)), nil
}

// normalize makes scanned values print the same whatever type the driver
// chose ([]byte or string, int64 or bool).
func normalize(vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case []byte:
			out[i] = string(x)
		case bool:
			if x {
				out[i] = int64(1)
			} else {
				out[i] = int64(0)
			}
		default:
			out[i] = v
		}
	}
	return out
}

// LedgerProblem is one way the record fails its ledger.
type LedgerProblem struct {
	Table string `json:"table"`
	RowID int64  `json:"row_id"`
	Why   string `json:"why"`
}

func (p LedgerProblem) String() string {
	if p.RowID == 0 {
		return p.Table + ": " + p.Why
	}
	return fmt.Sprintf("%s row %d: %s", p.Table, p.RowID, p.Why)
}

// VerifyLedger recomputes both chains from the genesis and compares every
// row and the heads; catalog is the hash of the catalog the database should
// hold (CatalogHash of a fresh build), or "" to skip that comparison.
func (d *DB) VerifyLedger(ctx context.Context) ([]LedgerProblem, error) {
	l, ok, err := readLedger(ctx, d.sql)
	if err != nil {
		return nil, err
	}
	if !ok {
		return []LedgerProblem{{Table: "ledger", Why: "missing: the record was never sealed"}}, nil
	}
	var out []LedgerProblem
	cur, err := catalogHash(ctx, d.sql)
	if err != nil {
		return nil, err
	}
	if cur != l.catalog {
		out = append(out, LedgerProblem{Table: "ledger", Why: "the items differ from the catalog the ledger was opened on (an item added, removed or changed by hand)"})
	}
	for _, t := range []struct {
		table, cols string
		n           int
		head        string
		rows        int64
	}{{"evidence", evidenceChainColumns, 17, l.evHead, l.evRows}, {"status_log", logChainColumns, 9, l.logHead, l.logRows}} {
		ps, err := verifyTable(ctx, d.sql, t.table, t.cols, t.n, genesis(t.table), t.head, t.rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func verifyTable(ctx context.Context, q querier, table, cols string, n int, head, wantHead string, wantRows int64) ([]LedgerProblem, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+cols+`, chain FROM `+table+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LedgerProblem
	var sealedRows int64
	broken := false
	for rows.Next() {
		vals := make([]any, n)
		ptrs := make([]any, n+1)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var chain string
		ptrs[n] = &chain
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		id, _ := vals[0].(int64)
		if chain == "" {
			out = append(out, LedgerProblem{table, id, "never sealed: inserted by hand, outside porttrack"})
			continue
		}
		sealedRows++
		next := link(head, normalize(vals))
		if next != chain && !broken {
			out = append(out, LedgerProblem{table, id, "its hash chain breaks here: this row was edited, or a row before it deleted"})
			broken = true
		}
		head = chain
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !broken && (head != wantHead || sealedRows != wantRows) {
		out = append(out, LedgerProblem{table, 0, fmt.Sprintf("%d sealed rows end the chain, the ledger sealed %d: rows at the end were deleted", sealedRows, wantRows)})
	}
	return out, nil
}

// CatalogHash is the fingerprint of the items as the database holds them.
func (d *DB) CatalogHash(ctx context.Context) (string, error) { return catalogHash(ctx, d.sql) }

// MutantExcuses returns the recorded equivalent mutants: feature ID ->
// mutant key -> reason.
func (d *DB) MutantExcuses(ctx context.Context) (map[int]map[string]string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT feature_id, mutant, reason FROM mutant_excuses ORDER BY feature_id, mutant`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]map[string]string{}
	for rows.Next() {
		var id int
		var m, r string
		if err := rows.Scan(&id, &m, &r); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][m] = r
	}
	return out, rows.Err()
}

// ExcuseMutant records that a mutant of a feature is equivalent (no test
// can tell it from the code), with the reason; the mutation gate then
// leaves it out of the kill rate, and feature show lists it.
func (d *DB) ExcuseMutant(ctx context.Context, featureID int, mutant, reason, actor string) error {
	if strings.TrimSpace(reason) == "" || strings.TrimSpace(mutant) == "" {
		return &BadInputError{Msg: "an excused mutant needs its key and a reason"}
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM features WHERE id = ?`, featureID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &BadInputError{Msg: fmt.Sprintf("unknown feature %d", featureID)}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mutant_excuses (feature_id, mutant, reason, actor, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (feature_id, mutant) DO UPDATE SET reason = excluded.reason, actor = excluded.actor, at = excluded.at`,
			featureID, mutant, reason, actor, d.timestamp())
		return err
	})
}

// writeCatalog is write for the transactions that change the catalog.
func (d *DB) writeCatalog(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return recordCatalog(ctx, tx)
	})
}
