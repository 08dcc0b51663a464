package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

type initOptions struct {
	CatalogDir string
}

func newInitCmd(e *env) *cobra.Command {
	opts := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init --catalog DIR",
		Short: "Create a new porting database from a catalog directory",
		Long: "Create the database named by --db from catalog.tsv, calls.tsv and batches.tsv in DIR.\n" +
			"Every item starts deferred with the reason \"" + db.InitialReason + "\". An existing database is never overwritten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.CatalogDir, "catalog", "", "directory holding catalog.tsv, calls.tsv and batches.tsv")
	return cmd
}

func runInit(ctx context.Context, e *env, opts *initOptions) error {
	if opts.CatalogDir == "" {
		return usagef("init needs --catalog DIR")
	}
	catalog, err := db.ReadCatalog(opts.CatalogDir)
	if err != nil {
		return err
	}
	// Checked before the file exists, so a refused plan leaves nothing.
	if err := db.ValidatePlan(catalog); err != nil {
		return err
	}
	if err := createDB(ctx, e, catalog); err != nil {
		return err
	}
	features, tests := 0, 0
	for _, it := range catalog.Items {
		if it.Kind == db.KindFeature {
			features++
		} else {
			tests++
		}
	}
	_, err = fmt.Fprintf(e.Out, "Created %s: %d batches, %d features, %d tests, %d calls\n",
		e.DBPath, len(catalog.Batches), features, tests, len(catalog.Calls))
	return err
}

// createDB makes a new database at e.DBPath holding catalog. A database
// that fails half-way is removed, so that the next attempt is not refused.
func createDB(ctx context.Context, e *env, catalog *db.Catalog) error {
	d, err := db.Create(ctx, e.DBPath)
	if err != nil {
		return err
	}
	err = d.Import(ctx, catalog, e.Actor)
	if err == nil {
		// Nothing else can have the new file open, so the checkpoint must
		// be whole; anything else means the file is not ready to commit.
		var whole bool
		if whole, err = d.Checkpoint(ctx); err == nil && !whole {
			err = fmt.Errorf("checkpoint of new database %s left part of the log behind", e.DBPath)
		}
	}
	err = errors.Join(err, d.Close())
	if err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(e.DBPath + suffix)
		}
		return err
	}
	return nil
}
