package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// Shell completion offers what the database holds: batch IDs, item IDs
// with their symbols, statuses and slices. A completion never fails
// loudly: without a readable database it offers nothing.

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeBatchIDs completes a batch ID argument.
func completeBatchIDs(e *env) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return batchCompletions(cmd, e, toComplete), noFiles
	}
}

// completeBatchFlag completes the value of --batch.
func completeBatchFlag(e *env) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return batchCompletions(cmd, e, toComplete), noFiles
	}
}

func batchCompletions(cmd *cobra.Command, e *env, prefix string) []cobra.Completion {
	var out []cobra.Completion
	withCompletionDB(cmd, e, func(ctx context.Context, d *db.DB) error {
		batches, err := d.Batches(ctx)
		for _, b := range batches {
			if id := fmt.Sprint(b.ID); strings.HasPrefix(id, prefix) {
				out = append(out, cobra.CompletionWithDesc(id, fmt.Sprintf("%s (%s)", b.Name, b.Status)))
			}
		}
		return err
	})
	return out
}

// completeItemIDs completes one item ID argument of the kind.
func completeItemIDs(e *env, kind db.ItemKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return itemCompletions(cmd, e, []db.ItemKind{kind}, batchFlag(cmd), "", toComplete), noFiles
	}
}

// completeHistoryID completes history's argument: a feature or test ID, or
// only one kind's with --feature or --test, or a batch ID with --batch.
func completeHistoryID(e *env) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		if on, _ := cmd.Flags().GetBool("batch"); on {
			return batchCompletions(cmd, e, toComplete), noFiles
		}
		kinds := []db.ItemKind{db.KindFeature, db.KindTest}
		if on, _ := cmd.Flags().GetBool("feature"); on {
			kinds = []db.ItemKind{db.KindFeature}
		}
		if on, _ := cmd.Flags().GetBool("test"); on {
			kinds = []db.ItemKind{db.KindTest}
		}
		return itemCompletions(cmd, e, kinds, 0, "", toComplete), noFiles
	}
}

// completeIDList completes the last entry of an ID list such as
// "2733-2740,27", among the items of the kinds (of --batch, if given).
func completeIDList(e *env, kinds ...db.ItemKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cut := strings.LastIndexAny(toComplete, ",-") + 1
		done, last := toComplete[:cut], toComplete[cut:]
		return itemCompletions(cmd, e, kinds, batchFlag(cmd), done, last), noFiles | cobra.ShellCompDirectiveNoSpace
	}
}

// itemCompletions offers the IDs of the kinds' items; an ID that two kinds
// share is offered once, described by both items.
func itemCompletions(cmd *cobra.Command, e *env, kinds []db.ItemKind, batch int, done, prefix string) []cobra.Completion {
	var order []int
	descs := map[int][]string{}
	for _, it := range completionItems(cmd, e, kinds, batch) {
		if !strings.HasPrefix(fmt.Sprint(it.ID), prefix) {
			continue
		}
		if descs[it.ID] == nil {
			order = append(order, it.ID)
		}
		desc := fmt.Sprintf("%s (%s)", it.GoSymbol, it.Status)
		if len(kinds) > 1 {
			desc = fmt.Sprintf("%s %s", it.Kind, desc)
		}
		descs[it.ID] = append(descs[it.ID], desc)
	}
	out := make([]cobra.Completion, len(order))
	for i, id := range order {
		out[i] = cobra.CompletionWithDesc(done+fmt.Sprint(id), strings.Join(descs[id], "; "))
	}
	return out
}

// completionItems lists the items of the kinds, of batch when not 0.
func completionItems(cmd *cobra.Command, e *env, kinds []db.ItemKind, batch int) []db.Item {
	var all []db.Item
	withCompletionDB(cmd, e, func(ctx context.Context, d *db.DB) error {
		for _, kind := range kinds {
			items, err := d.Items(ctx, kind, db.ItemFilter{BatchID: batch})
			if err != nil {
				return err
			}
			all = append(all, items...)
		}
		return nil
	})
	return all
}

// completeSlices completes --slice with the groups and waves of --batch,
// or of every batch.
func completeSlices(e *env, kinds ...db.ItemKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		batch := batchFlag(cmd)
		type sliceKey struct {
			batch int
			slice string
		}
		counts := map[sliceKey]int{}
		var order []sliceKey
		words := map[sliceKey]string{}
		for _, it := range completionItems(cmd, e, kinds, batch) {
			k := sliceKey{it.BatchID, it.Slice}
			if it.Slice == "" || !strings.HasPrefix(it.Slice, toComplete) {
				continue
			}
			if counts[k] == 0 {
				order = append(order, k)
				words[k] = sliceTitle(it.Kind, it.Slice)
			}
			counts[k]++
		}
		var out []cobra.Completion
		var listed []string
		for _, k := range order {
			if slices.Contains(listed, k.slice) {
				continue // the same name in another batch
			}
			listed = append(listed, k.slice)
			out = append(out, cobra.CompletionWithDesc(k.slice, fmt.Sprintf("batch %d: %s, %d items", k.batch, words[k], counts[k])))
		}
		return out, noFiles
	}
}

// completeStatuses completes an item status.
func completeStatuses(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	descriptions := map[db.Status]string{
		db.StatusDeferred: "not started; needs --override to move to",
		db.StatusStub:     "placeholder in place",
		db.StatusComplete: "ported; needs dependency, stub and build evidence",
		db.StatusVerified: "tested; needs coverage or test evidence too",
		db.StatusNA:       "not applicable; needs --override",
	}
	var out []cobra.Completion
	for _, st := range db.ItemStatuses {
		out = append(out, cobra.CompletionWithDesc(string(st), descriptions[st]))
	}
	return out, noFiles
}

// completeKinds completes --kind.
var completeKinds = cobra.FixedCompletions([]cobra.Completion{string(db.KindFeature), string(db.KindTest)}, noFiles)

// batchFlag is the command's --batch, or 0.
func batchFlag(cmd *cobra.Command) int {
	f := cmd.Flags().Lookup("batch")
	if f == nil || f.Value.Type() != "int" {
		return 0
	}
	n, _ := cmd.Flags().GetInt("batch")
	return n
}

// withCompletionDB runs fn on the database read-only; any error means no
// completions. Completion runs no pre-run hook, so the default database is
// found here as the command itself would find it.
func withCompletionDB(cmd *cobra.Command, e *env, fn func(ctx context.Context, d *db.DB) error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	where := *e
	if !cmd.Flags().Changed("db") {
		where.DBPath = nearestDB()
	}
	d, err := openDB(ctx, &where)
	if err != nil {
		return
	}
	defer d.Close()
	fn(ctx, d)
}

// registerCompletions attaches completion to flags by their name wherever
// they occur, and keeps every command that takes no file from offering
// files.
func registerCompletions(e *env, root *cobra.Command) {
	root.MarkPersistentFlagFilename("db", "db")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		flag := func(name string, f cobra.CompletionFunc) {
			if c.Flags().Lookup(name) != nil && c.LocalFlags().Lookup(name) != nil {
				c.RegisterFlagCompletionFunc(name, f)
			}
		}
		if batch := c.LocalFlags().Lookup("batch"); batch != nil && batch.Value.Type() == "int" {
			flag("batch", completeBatchFlag(e))
		}
		flag("status", completeStatuses)
		flag("set-status", completeStatuses)
		flag("kind", completeKinds)
		if c.ValidArgsFunction == nil {
			c.ValidArgsFunction = cobra.NoFileCompletions
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
