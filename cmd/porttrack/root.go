package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// Exit codes, as documented in README.md.
const (
	exitOK      = 0
	exitRefused = 1
	exitUsage   = 2
)

// env carries what every command needs from its surroundings, so tests can
// run any command against a temporary database without a shell.
type env struct {
	Out    io.Writer
	Err    io.Writer
	DBPath string
	// Actor is written to status_log for every change.
	Actor string
	// Root is the repository's top directory: target paths are relative to it.
	Root string
}

// usageError is bad command-line input; it exits with exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// execute runs one porttrack invocation and returns its exit code.
func execute(ctx context.Context, args []string, out, errOut io.Writer) int {
	e := &env{Out: out, Err: errOut, Actor: defaultActor()}
	root, err := findRoot()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return exitUsage
	}
	e.Root = root
	cmd := newRootCmd(e)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	return report(errOut, cmd.ExecuteContext(ctx))
}

// report prints err, one line per problem, and maps it to an exit code.
func report(errOut io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var refused *db.RefusedError
	if errors.As(err, &refused) {
		fmt.Fprintln(errOut, refused.Error())
		return exitRefused
	}
	fmt.Fprintf(errOut, "error: %v\n", err)
	return exitUsage
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "porttrack",
		Short:         "Track the Raft port's batches, features and tests in porting.db",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare "porttrack" or an unknown subcommand is a usage error, not help.
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("missing command; run 'porttrack --help' for the list")
		},
	}
	root.PersistentFlags().StringVar(&e.DBPath, "db", "porting.db", "path of the porting database (default: the nearest porting.db in this directory or a parent; for init, ./porting.db)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if !cmd.Flags().Changed("db") && cmd.Name() != "init" {
			e.DBPath = nearestDB()
		}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})
	root.AddCommand(
		newInitCmd(e),
		newImportCmd(e),
		newCatalogCmd(e),
		newBatchCmd(e),
		newItemCmd(e, db.KindFeature),
		newItemCmd(e, db.KindTest),
		newReportCmd(e),
		newHistoryCmd(e),
		newNextCmd(e),
		newVerifyCmd(e),
		newCheckpointCmd(e),
		newAuditCmd(e),
	)
	return root
}

// defaultActor names who made a change in status_log: PORTTRACK_ACTOR if
// set (scripts and the verify gate identify themselves), else the git
// user (git config user.name), else the login name.
func defaultActor() string {
	if v := os.Getenv("PORTTRACK_ACTOR"); v != "" {
		return v
	}
	if out, err := exec.Command("git", "config", "user.name").Output(); err == nil {
		if name := strings.TrimSpace(string(out)); name != "" {
			return name
		}
	}
	for _, name := range []string{"USER", "USERNAME"} {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return "unknown"
}

// nearestDB finds porting.db in the working directory or the closest of
// its parents, so porttrack works from anywhere in a repository; with none,
// it names porting.db here, which the command then reports missing.
func nearestDB() string {
	wd, err := os.Getwd()
	if err != nil {
		return "porting.db"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "porting.db")
		if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() {
			if rel, err := filepath.Rel(wd, candidate); err == nil {
				return rel
			}
			return candidate
		}
		if filepath.Dir(dir) == dir {
			return "porting.db"
		}
	}
}

// findRoot returns the git top-level directory containing the working
// directory, or the working directory itself outside a git checkout.
func findRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return wd, nil
		}
	}
}

// openDB opens the database for a read command.
func openDB(ctx context.Context, e *env) (*db.DB, error) {
	return db.Open(ctx, e.DBPath)
}

// withWrite opens the database, runs fn and, whatever fn did, checkpoints the
// write-ahead log so the database file alone holds every committed change.
func withWrite(ctx context.Context, e *env, fn func(d *db.DB) error) error {
	d, err := db.Open(ctx, e.DBPath)
	if err != nil {
		return err
	}
	fnErr := fn(d)
	whole, cpErr := d.Checkpoint(ctx)
	if cpErr == nil && !whole {
		// Another porttrack process is reading; whichever process closes the
		// file last folds the rest of the log in, so this is only a note.
		fmt.Fprintf(e.Err, "note: %s is in use by another process; its last user completes the checkpoint\n", e.DBPath)
	}
	closeErr := d.Close()
	return errors.Join(fnErr, cpErr, closeErr)
}
