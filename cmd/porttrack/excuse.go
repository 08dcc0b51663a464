package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

type excuseOptions struct {
	ID     int
	Mutant string
	Reason string
}

// newExcuseMutantCmd records an equivalent mutant of a feature.
func newExcuseMutantCmd(e *env) *cobra.Command {
	opts := &excuseOptions{}
	cmd := &cobra.Command{
		Use:   "excuse-mutant ID --mutant KEY --reason TEXT",
		Short: "Record that a mutant of a feature is equivalent, with the reason",
		Long: `Record that one mutant of a feature is equivalent: no test can tell it from
the code (say why with --reason). The mutation gate then leaves it out of the
kill rate, and feature show lists it with its reason. KEY is the mutant as the
kill matrix names it ("compare: ` + "`a < b` -> `a <= b`" + `"); without --mutant the
feature's mutant keys are listed.`,
		Example: "  porttrack feature excuse-mutant 2751\n  porttrack feature excuse-mutant 2751 --mutant 'drop: dropped `n.x = y`' --reason 'n.x is reset on the next line'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			opts.ID = id
			return runExcuseMutant(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Mutant, "mutant", "", "the mutant's key, as the kill matrix names it")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why no test can tell the mutant from the code")
	return cmd
}

func runExcuseMutant(ctx context.Context, e *env, opts *excuseOptions) error {
	var keys []string
	err := func() error {
		d, err := openDB(ctx, e)
		if err != nil {
			return err
		}
		defer d.Close()
		it, err := d.Item(ctx, db.KindFeature, opts.ID)
		if err != nil {
			return err
		}
		if it.TargetFile == "" {
			return usagef("feature %d is not mapped: it has no mutants", opts.ID)
		}
		keys, err = gates.MutantKeys(e.Root, it.TargetFile, it.TargetSymbol, 1<<20)
		return err
	}()
	if err != nil {
		return err
	}
	if opts.Mutant == "" {
		for _, k := range keys {
			fmt.Fprintln(e.Out, k)
		}
		return nil
	}
	if !slices.Contains(keys, opts.Mutant) {
		return usagef("feature %d has no mutant %q; run without --mutant to list them", opts.ID, opts.Mutant)
	}
	if strings.TrimSpace(opts.Reason) == "" {
		return usagef("an equivalent mutant needs --reason")
	}
	return withWrite(ctx, e, func(d *db.DB) error {
		if err := d.ExcuseMutant(ctx, opts.ID, opts.Mutant, strings.TrimSpace(opts.Reason), e.Actor); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.Out, "Excused mutant of feature %d: %s\n", opts.ID, opts.Mutant)
		return err
	})
}
