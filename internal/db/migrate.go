package db

import (
	"context"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version records how many have
// run. Append new steps, never edit a shipped one: porting.db files in the
// wild are at some earlier version and replay only the steps after it.
var migrations = []string{
	// 1: the catalog, statuses, the change log and gate evidence.
	`
CREATE TABLE batches (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	go_file     TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'complete')),
	description TEXT NOT NULL
);
CREATE TABLE batch_deps (
	batch_id   INTEGER NOT NULL REFERENCES batches(id),
	depends_on INTEGER NOT NULL REFERENCES batches(id),
	PRIMARY KEY (batch_id, depends_on),
	CHECK (batch_id <> depends_on)
);
CREATE TABLE features (
	id            INTEGER PRIMARY KEY,
	batch_id      INTEGER NOT NULL REFERENCES batches(id),
	slice         TEXT NOT NULL DEFAULT '',
	go_file       TEXT NOT NULL,
	go_symbol     TEXT NOT NULL,
	go_line_start INTEGER NOT NULL,
	go_line_end   INTEGER NOT NULL,
	target_file   TEXT NOT NULL DEFAULT '',
	target_symbol TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL CHECK (status IN ('deferred', 'stub', 'complete', 'verified', 'n_a')),
	reason        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX features_batch ON features(batch_id);
CREATE TABLE tests (
	id            INTEGER PRIMARY KEY,
	batch_id      INTEGER NOT NULL REFERENCES batches(id),
	slice         TEXT NOT NULL DEFAULT '',
	go_file       TEXT NOT NULL,
	go_symbol     TEXT NOT NULL,
	go_line_start INTEGER NOT NULL,
	go_line_end   INTEGER NOT NULL,
	target_file   TEXT NOT NULL DEFAULT '',
	target_symbol TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL CHECK (status IN ('deferred', 'stub', 'complete', 'verified', 'n_a')),
	reason        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tests_batch ON tests(batch_id);
CREATE TABLE calls (
	caller_id INTEGER NOT NULL REFERENCES features(id),
	callee_id INTEGER NOT NULL REFERENCES features(id),
	PRIMARY KEY (caller_id, callee_id)
);
CREATE INDEX calls_callee ON calls(callee_id);
CREATE TABLE evidence (
	id         INTEGER PRIMARY KEY,
	item_kind  TEXT NOT NULL CHECK (item_kind IN ('feature', 'test', 'batch')),
	item_id    INTEGER NOT NULL,
	batch_id   INTEGER NOT NULL REFERENCES batches(id),
	gate       TEXT NOT NULL CHECK (gate IN ('dependency', 'stub', 'build', 'test', 'coverage', 'mutation', 'checkpoint', 'audit')),
	passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
	command    TEXT NOT NULL,
	exit_code  INTEGER NOT NULL,
	summary    TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	git_commit TEXT NOT NULL,
	tree_dirty INTEGER NOT NULL CHECK (tree_dirty IN (0, 1)),
	go_version TEXT NOT NULL,
	code_hash  TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX evidence_item_gate ON evidence(item_kind, item_id, gate, id);
CREATE TABLE status_log (
	id          INTEGER PRIMARY KEY,
	item_kind   TEXT NOT NULL CHECK (item_kind IN ('feature', 'test', 'batch')),
	item_id     INTEGER NOT NULL,
	from_status TEXT,
	to_status   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	actor       TEXT NOT NULL,
	at          TEXT NOT NULL,
	evidence_id INTEGER REFERENCES evidence(id)
);
CREATE INDEX status_log_item ON status_log(item_kind, item_id, id);
`,
	// 2: the audited record. Evidence names the target it judged and the
	// hash of that function's source; every evidence and status_log row
	// carries a hash chained over the rows before it, sealed in the ledger
	// with the catalog's hash (see ledger.go); a mapping whose target name
	// differs from the reference symbol carries its reason; equivalent
	// mutants are excused with a recorded reason.
	`
ALTER TABLE evidence ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN target_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE status_log ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE features ADD COLUMN map_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE tests ADD COLUMN map_reason TEXT NOT NULL DEFAULT '';
CREATE TABLE mutant_excuses (
	feature_id INTEGER NOT NULL REFERENCES features(id),
	mutant     TEXT NOT NULL,
	reason     TEXT NOT NULL CHECK (reason <> ''),
	actor      TEXT NOT NULL,
	at         TEXT NOT NULL,
	PRIMARY KEY (feature_id, mutant)
);
CREATE TABLE ledger (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	catalog_hash  TEXT NOT NULL,
	evidence_head TEXT NOT NULL,
	evidence_rows INTEGER NOT NULL,
	log_head      TEXT NOT NULL,
	log_rows      INTEGER NOT NULL
);
`,
}

// SchemaVersion is the version a database has after Open or Create.
func SchemaVersion() int { return len(migrations) }

// migrate applies the steps this file has not seen. The version is re-read
// inside the write transaction so two processes opening an old file at once
// cannot both apply the same step.
func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, err)
	}
	if version >= len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate %s to version %d: %w", d.path, i+1, err)
		}
	}
	// The rows a database brings from before the ledger are sealed as they
	// are: from here on, editing or deleting any of them shows.
	if err := seal(ctx, tx, 0, 0); err != nil {
		return fmt.Errorf("migrate %s: seal the ledger: %w", d.path, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate %s: %w", d.path, err)
	}
	return tx.Commit()
}
