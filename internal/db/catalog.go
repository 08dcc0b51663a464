package db

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// InitialReason is the reason every imported item starts with. An item still
// deferred for this reason has no explicit reason; see CompleteBatch.
const InitialReason = "not yet ported"

// Catalog is the parsed content of a catalog directory.
type Catalog struct {
	Batches []Batch
	Items   []Item
	Calls   [][2]int
}

var (
	catalogHeader = []string{"kind", "id", "batch", "slice", "go_file", "go_symbol", "go_line_start", "go_line_end"}
	callsHeader   = []string{"caller_id", "callee_id"}
	batchesHeader = []string{"id", "name", "go_file", "depends_on", "status", "description"}
)

// ReadCatalog parses catalog.tsv, calls.tsv and batches.tsv from dir.
func ReadCatalog(dir string) (*Catalog, error) {
	files := make([]io.Reader, len(catalogFiles))
	for i, name := range catalogFiles {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, &BadInputError{Msg: fmt.Sprintf("catalog: %v", err)}
		}
		defer f.Close()
		files[i] = f
	}
	return ParseCatalog(files[0], files[1], files[2])
}

// catalogFiles are the files of a catalog directory, in ParseCatalog's
// argument order.
var catalogFiles = []string{"batches.tsv", "catalog.tsv", "calls.tsv"}

// ParseCatalog reads the content of batches.tsv, catalog.tsv and calls.tsv.
// A catalog may have no calls, but must have batches and items.
func ParseCatalog(batches, items, calls io.Reader) (*Catalog, error) {
	var c Catalog
	batchRows, err := readTSV(batches, "batches.tsv", batchesHeader, false)
	if err != nil {
		return nil, err
	}
	for _, r := range batchRows {
		b, err := parseBatchRow(r)
		if err != nil {
			return nil, err
		}
		c.Batches = append(c.Batches, b)
	}
	itemRows, err := readTSV(items, "catalog.tsv", catalogHeader, false)
	if err != nil {
		return nil, err
	}
	for _, r := range itemRows {
		it, err := parseItemRow(r)
		if err != nil {
			return nil, err
		}
		c.Items = append(c.Items, it)
	}
	callRows, err := readTSV(calls, "calls.tsv", callsHeader, true)
	if err != nil {
		return nil, err
	}
	for _, r := range callRows {
		caller, err1 := r.int(0)
		callee, err2 := r.int(1)
		if err := cmp.Or(err1, err2); err != nil {
			return nil, err
		}
		c.Calls = append(c.Calls, [2]int{caller, callee})
	}
	return &c, nil
}

// tsvRow remembers where it came from so every parse error can point at the
// offending line.
type tsvRow struct {
	file   string
	line   int
	fields []string
	header []string
}

func (r tsvRow) errorf(format string, args ...any) error {
	return &BadInputError{Msg: fmt.Sprintf("%s:%d: %s", r.file, r.line, fmt.Sprintf(format, args...))}
}

func (r tsvRow) int(col int) (int, error) {
	n, err := strconv.Atoi(r.fields[col])
	if err != nil {
		return 0, r.errorf("column %s: %q is not a number", r.header[col], r.fields[col])
	}
	return n, nil
}

func readTSV(f io.Reader, name string, header []string, mayBeEmpty bool) ([]tsvRow, error) {
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = len(header)
	var rows []tsvRow
	line := 1
	for ; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &BadInputError{Msg: fmt.Sprintf("catalog %s: %v", name, err)}
		}
		if line == 1 {
			if !slices.Equal(rec, header) {
				return nil, &BadInputError{Msg: fmt.Sprintf("catalog %s: header is %q, want %q", name, strings.Join(rec, " "), strings.Join(header, " "))}
			}
			continue
		}
		for i, field := range rec {
			if strings.ContainsFunc(field, unicode.IsControl) {
				return nil, &BadInputError{Msg: fmt.Sprintf("%s:%d: column %s holds a tab, line break or other control character; catalog fields are one line of text", name, line, header[i])}
			}
		}
		rows = append(rows, tsvRow{file: name, line: line, fields: rec, header: header})
	}
	if line == 1 {
		return nil, &BadInputError{Msg: fmt.Sprintf("catalog %s is empty: it needs the header %q", name, strings.Join(header, " "))}
	}
	if len(rows) == 0 && !mayBeEmpty {
		return nil, &BadInputError{Msg: fmt.Sprintf("catalog %s has no rows", name)}
	}
	return rows, nil
}

func parseBatchRow(r tsvRow) (Batch, error) {
	id, err := r.int(0)
	if err != nil {
		return Batch{}, err
	}
	b := Batch{ID: id, Name: r.fields[1], GoFile: r.fields[2], Status: BatchStatus(r.fields[4]), Description: r.fields[5]}
	switch b.Status {
	case BatchPending, BatchInProgress, BatchComplete:
	default:
		return Batch{}, r.errorf("unknown batch status %q", r.fields[4])
	}
	if deps := strings.TrimSpace(r.fields[3]); deps != "" {
		for _, part := range strings.Split(deps, ",") {
			dep, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return Batch{}, r.errorf("depends_on: %q is not a batch id", part)
			}
			b.DependsOn = append(b.DependsOn, dep)
		}
	}
	return b, nil
}

func parseItemRow(r tsvRow) (Item, error) {
	id, err1 := r.int(1)
	batch, err2 := r.int(2)
	start, err3 := r.int(6)
	end, err4 := r.int(7)
	if err := cmp.Or(err1, err2, err3, err4); err != nil {
		return Item{}, err
	}
	kind := ItemKind(r.fields[0])
	if kind != KindFeature && kind != KindTest {
		return Item{}, r.errorf("unknown kind %q (want feature or test)", r.fields[0])
	}
	if end < start {
		return Item{}, r.errorf("line span %d-%d ends before it starts", start, end)
	}
	return Item{
		Kind: kind, ID: id, BatchID: batch, Slice: r.fields[3],
		GoFile: r.fields[4], GoSymbol: r.fields[5], GoLineStart: start, GoLineEnd: end,
		Status: StatusDeferred, Reason: InitialReason,
	}, nil
}

// Import loads a parsed catalog into an empty database in one transaction
// and logs every item's and batch's starting status, so each history
// begins with where the item came from. A plan ValidatePlan refuses is
// not imported.
func (d *DB) Import(ctx context.Context, c *Catalog, actor string) error {
	if err := ValidatePlan(c); err != nil {
		return err
	}
	return d.writeCatalog(ctx, func(tx *sql.Tx) error {
		var existing int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM batches").Scan(&existing); err != nil {
			return err
		}
		if existing > 0 {
			return refuse("init-no-overwrite", fmt.Sprintf("database %s already holds a catalog", d.path))
		}
		return insertCatalog(ctx, tx, c, actor, d.timestamp(), "imported from catalog")
	})
}

// insertCatalog writes c's batches, their dependencies, items and calls,
// each batch and item with a first status_log row giving source as the
// reason for its status.
func insertCatalog(ctx context.Context, tx *sql.Tx, c *Catalog, actor, at, source string) error {
	for _, b := range c.Batches {
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, name, go_file, status, description) VALUES (?, ?, ?, ?, ?)`,
			b.ID, b.Name, b.GoFile, b.Status, b.Description); err != nil {
			return &BadInputError{Msg: fmt.Sprintf("catalog batch %d: %v", b.ID, err)}
		}
		if err := logChange(ctx, tx, KindBatch, b.ID, "", string(b.Status), source, actor, at, nil); err != nil {
			return err
		}
	}
	for _, b := range c.Batches {
		for _, dep := range b.DependsOn {
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_deps (batch_id, depends_on) VALUES (?, ?)`, b.ID, dep); err != nil {
				return &BadInputError{Msg: fmt.Sprintf("catalog batch %d depends on %d: %v", b.ID, dep, err)}
			}
		}
	}
	// Prepared once: a catalog has hundreds to thousands of rows.
	insert := map[ItemKind]*sql.Stmt{}
	for _, kind := range []ItemKind{KindFeature, KindTest} {
		table, err := kind.table()
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (id, batch_id, slice, go_file, go_symbol, go_line_start, go_line_end, status, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		insert[kind] = stmt
	}
	logStmt, err := tx.PrepareContext(ctx, `INSERT INTO status_log (item_kind, item_id, from_status, to_status, reason, actor, at)
		VALUES (?, ?, NULL, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer logStmt.Close()
	for _, it := range c.Items {
		stmt, ok := insert[it.Kind]
		if !ok {
			return &BadInputError{Msg: fmt.Sprintf("catalog %s %d: unknown kind", it.Kind, it.ID)}
		}
		if _, err := stmt.ExecContext(ctx, it.ID, it.BatchID, it.Slice, it.GoFile, it.GoSymbol, it.GoLineStart, it.GoLineEnd, it.Status, it.Reason); err != nil {
			return &BadInputError{Msg: fmt.Sprintf("catalog %s %d: %v", it.Kind, it.ID, err)}
		}
		if _, err := logStmt.ExecContext(ctx, it.Kind, it.ID, it.Status, it.Reason, actor, at); err != nil {
			return err
		}
	}
	callStmt, err := tx.PrepareContext(ctx, `INSERT INTO calls (caller_id, callee_id) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer callStmt.Close()
	for _, call := range c.Calls {
		if _, err := callStmt.ExecContext(ctx, call[0], call[1]); err != nil {
			return &BadInputError{Msg: fmt.Sprintf("catalog call %d -> %d: %v", call[0], call[1], err)}
		}
	}
	return nil
}

// write runs fn in one write transaction. With _txlock=immediate the BEGIN
// takes the write lock, so concurrent writers queue instead of failing.
func (d *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write on %s: %w", d.path, err)
	}
	defer tx.Rollback()
	evBefore, logBefore, err := maxRowIDs(ctx, tx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	// Only the rows this transaction wrote are sealed: a row slipped in by
	// hand stays unsealed, and the audit names it.
	if err := seal(ctx, tx, evBefore, logBefore); err != nil {
		return err
	}
	return tx.Commit()
}

// logChange appends one status_log row. An empty from means the item had no
// status before (its import).
func logChange(ctx context.Context, tx *sql.Tx, kind ItemKind, id int, from, to, reason, actor, at string, evidenceID *int64) error {
	var fromVal any
	if from != "" {
		fromVal = from
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO status_log (item_kind, item_id, from_status, to_status, reason, actor, at, evidence_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, kind, id, fromVal, to, reason, actor, at, evidenceID)
	return err
}
