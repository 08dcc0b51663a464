package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeoutMillis bounds how long a writer waits for another process's
// transaction before giving up; porttrack transactions are short, so waiting
// beats failing with "database is locked".
const busyTimeoutMillis = 10000

// DB is an open porting database.
type DB struct {
	sql  *sql.DB
	path string
	// now is replaceable so tests can pin timestamps.
	now func() time.Time
	// cleanup, if set, runs after Close: it removes the private copy an
	// outdated database is read through.
	cleanup func() error
}

// dsn builds a file: URI so SQLite's own mode parameter applies: mode=rw
// refuses to create a missing file, which a plain path would silently do.
// _txlock=immediate makes every transaction take the write lock at BEGIN, so
// concurrent writers queue on busy_timeout instead of failing at COMMIT.
func dsn(path, mode string) string {
	return fileURI(path, mode) + "&_foreign_keys=1&_journal_mode=WAL&_txlock=immediate"
}

func fileURI(path, mode string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?mode=" + mode + fmt.Sprintf("&_busy_timeout=%d", busyTimeoutMillis)
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// checkFile refuses a path that is missing, empty or not a SQLite file
// before SQLite sees it: SQLite would take an empty file for a new database
// and write a header into it.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &BadInputError{Msg: fmt.Sprintf("database %s does not exist (create one with: porttrack init --catalog DIR --db %s)", path, path)}
		}
		return &BadInputError{Msg: fmt.Sprintf("database %s: %v", path, err)}
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return &BadInputError{Msg: fmt.Sprintf("database %s is empty: not a porttrack database (create one with: porttrack init --catalog DIR --db %s)", path, path)}
	case err != nil && err != io.ErrUnexpectedEOF:
		return &BadInputError{Msg: fmt.Sprintf("database %s: %v", path, err)}
	case string(head[:n]) != sqliteHeader:
		return &BadInputError{Msg: fmt.Sprintf("database %s is corrupt or not a SQLite file", path)}
	}
	return nil
}

// Open opens an existing porting database for writing and brings its schema
// up to date. A missing or empty file, a file that is not SQLite, or a
// SQLite file that is not a porting database is a *BadInputError, and the
// file is left as it was.
func Open(ctx context.Context, path string) (*DB, error) {
	d, version, err := openExisting(ctx, path, func(p string) (*DB, error) { return openSQL(p, "rw") })
	if err != nil {
		return nil, err
	}
	// Only an outdated file pays for a write transaction on open.
	if version < len(migrations) {
		if err := d.migrate(ctx); err != nil {
			d.sql.Close()
			return nil, err
		}
	}
	return d, nil
}

// OpenReadOnly opens an existing porting database for reading only: it
// never writes to the file, whatever the file holds, and leaves no -wal or
// -shm file behind when it is the file's last user. It refuses what Open
// refuses. A database whose schema is older than this porttrack is copied
// to a private temporary file, which is brought up to date and read instead;
// Close removes it.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	d, version, err := openExisting(ctx, path, openSQLReadOnly)
	if err != nil {
		return nil, err
	}
	if version == len(migrations) {
		return d, nil
	}
	defer d.sql.Close()
	return d.upgradedCopy(ctx)
}

// openExisting checks the file, opens it with open and tells a porting
// database and its schema version from anything else.
func openExisting(ctx context.Context, path string, open func(string) (*DB, error)) (*DB, int, error) {
	if err := checkFile(path); err != nil {
		return nil, 0, err
	}
	d, err := open(path)
	if err != nil {
		return nil, 0, err
	}
	version, err := d.checkPorttrack(ctx)
	if err != nil {
		d.sql.Close()
		return nil, 0, err
	}
	return d, version, nil
}

// upgradedCopy copies the database to a temporary file with VACUUM INTO,
// which only reads the original, and opens the copy migrated.
func (d *DB) upgradedCopy(ctx context.Context) (*DB, error) {
	dir, err := os.MkdirTemp("", "porttrack-read-")
	if err != nil {
		return nil, err
	}
	remove := func() error { return os.RemoveAll(dir) }
	copyPath := filepath.Join(dir, filepath.Base(d.path))
	if err := vacuumInto(ctx, d.sql, copyPath); err != nil {
		remove()
		return nil, fmt.Errorf("read database %s: copy for its schema upgrade: %w", d.path, err)
	}
	c, err := openSQL(copyPath, "rw")
	if err == nil {
		err = c.migrate(ctx)
		if err != nil {
			c.sql.Close()
		}
	}
	if err != nil {
		remove()
		return nil, fmt.Errorf("read database %s: %w", d.path, err)
	}
	c.path, c.cleanup = d.path, remove
	return c, nil
}

// vacuumInto writes a copy of the database to path. query_only refuses
// VACUUM INTO although it writes only the copy, so the one connection that
// runs it lifts the setting; the caller closes the handle afterwards.
func vacuumInto(ctx context.Context, s *sql.DB, path string) error {
	conn, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

// Create makes a new, empty porting database at path with the current schema.
// It never touches an existing file: the exclusive create makes that check
// and the creation one step, so two concurrent inits cannot both win.
func Create(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, refuse("init-no-overwrite", fmt.Sprintf("database %s already exists; init never overwrites a database", path))
		}
		return nil, &BadInputError{Msg: fmt.Sprintf("create database %s: %v", path, err)}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	d, err := openSQL(path, "rw")
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.sql.Close()
		os.Remove(path)
		return nil, err
	}
	return d, nil
}

func openSQL(path, mode string) (*DB, error) {
	s, err := sql.Open("sqlite", dsn(path, mode))
	if err != nil {
		return nil, &BadInputError{Msg: fmt.Sprintf("open database %s: %v", path, err)}
	}
	return &DB{sql: s, path: path, now: time.Now}, nil
}

// openSQLReadOnly opens path for reading: query_only refuses every write,
// and none of the settings that write (the journal mode is the file's own)
// are applied. It is not mode=ro because a read-only connection can neither
// remove the -wal and -shm files a WAL database's readers create, nor fold a
// log into the file when it is the last to close.
func openSQLReadOnly(path string) (*DB, error) {
	s, err := sql.Open("sqlite", fileURI(path, "rw")+"&_pragma=query_only(1)")
	if err != nil {
		return nil, &BadInputError{Msg: fmt.Sprintf("open database %s: %v", path, err)}
	}
	return &DB{sql: s, path: path, now: time.Now}, nil
}

// checkPorttrack tells a porting database apart from an empty, foreign or
// damaged file before anything is written to it.
func (d *DB) checkPorttrack(ctx context.Context) (version int, err error) {
	if err := d.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, &BadInputError{Msg: fmt.Sprintf("database %s is corrupt or not a SQLite file: %v", d.path, err)}
	}
	if version == 0 {
		return 0, &BadInputError{Msg: fmt.Sprintf("database %s is not a porttrack database (no schema version)", d.path)}
	}
	if version > len(migrations) {
		return 0, &BadInputError{Msg: fmt.Sprintf("database %s has schema version %d, newer than this porttrack (%d)", d.path, version, len(migrations))}
	}
	var batches int
	if err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM batches").Scan(&batches); err != nil {
		return 0, &BadInputError{Msg: fmt.Sprintf("database %s is corrupt: %v", d.path, err)}
	}
	return version, nil
}

// Path is the file this DB was opened from.
func (d *DB) Path() string { return d.path }

// SetClock replaces the time source for log and evidence timestamps.
func (d *DB) SetClock(now func() time.Time) { d.now = now }

func (d *DB) timestamp() string { return d.now().UTC().Format(time.RFC3339) }

// Checkpoint folds the write-ahead log into the main file and truncates it, so
// the database file alone holds every committed change. Write commands call
// it before exiting because porting.db is committed to git without its -wal.
// whole is false when another connection's open read kept part of the log;
// the last connection to close the file checkpoints again in that case.
func (d *DB) Checkpoint(ctx context.Context) (whole bool, err error) {
	var busy, logFrames, checkpointed int
	if err := d.sql.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return false, fmt.Errorf("checkpoint %s: %w", d.path, err)
	}
	return busy == 0 && logFrames == checkpointed, nil
}

// Close releases the database. SQLite also checkpoints when the last
// connection to a file closes.
func (d *DB) Close() error {
	err := d.sql.Close()
	if d.cleanup != nil {
		err = errors.Join(err, d.cleanup())
	}
	return err
}
