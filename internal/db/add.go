package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// MergeCatalog adds the batches, items and calls of add to base and checks
// the result with ValidatePlan. A batch of add either is new or names a
// batch of base that has no items yet (a batch declared ahead of its
// import), whose items it then supplies; an empty name or nil dependencies
// keep the declared ones. Refused, naming what collides:
//
//   - import-batch: the batch already has items, or it is declared with
//     another name or other dependencies;
//   - import-ids: an added ID is already in use in its number space;
//   - import-symbol: an added item's file and symbol are already an item.
func MergeCatalog(base, add *Catalog) (*Catalog, error) {
	merged := &Catalog{
		Batches: slices.Clone(base.Batches),
		Items:   slices.Concat(base.Items, add.Items),
		Calls:   slices.Concat(base.Calls, add.Calls),
	}
	declared := map[int]int{}
	for i, b := range merged.Batches {
		declared[b.ID] = i
	}
	itemCount := map[int]int{}
	used := map[ItemKind]map[int]Item{KindFeature: {}, KindTest: {}}
	type symbolKey struct {
		kind         ItemKind
		file, symbol string
	}
	symbols := map[symbolKey]Item{}
	for _, it := range base.Items {
		itemCount[it.BatchID]++
		if m, ok := used[it.Kind]; ok {
			m[it.ID] = it
		}
		symbols[symbolKey{it.Kind, it.GoFile, it.GoSymbol}] = it
	}
	var refusal RefusedError
	for _, b := range add.Batches {
		i, exists := declared[b.ID]
		if !exists {
			declared[b.ID] = len(merged.Batches)
			merged.Batches = append(merged.Batches, b)
			continue
		}
		old := merged.Batches[i]
		switch {
		case itemCount[b.ID] > 0:
			refusal.Violations = append(refusal.Violations, Violation{Rule: "import-batch",
				Detail: fmt.Sprintf("batch %d %s already has %d items; import into a new batch, or into a declared batch that has none", b.ID, old.Name, itemCount[b.ID]), IDs: []int{b.ID}})
		case b.Name != "" && b.Name != old.Name, b.DependsOn != nil && !slices.Equal(sortedInts(b.DependsOn), sortedInts(old.DependsOn)):
			refusal.Violations = append(refusal.Violations, Violation{Rule: "import-batch",
				Detail: fmt.Sprintf("batch %d is declared as %q depending on %s; leave out --name and --depends-on or repeat them", b.ID, old.Name, orNone(old.DependsOn)), IDs: []int{b.ID}})
		}
	}
	for _, kind := range []ItemKind{KindFeature, KindTest} {
		var clash []int
		for _, it := range add.Items {
			if _, taken := used[kind][it.ID]; it.Kind == kind && taken {
				clash = append(clash, it.ID)
			}
		}
		if len(clash) > 0 {
			var ids []int
			for _, it := range add.Items {
				if it.Kind == kind {
					ids = append(ids, it.ID)
				}
			}
			refusal.Violations = append(refusal.Violations, Violation{Rule: "import-ids",
				Detail: fmt.Sprintf("%s IDs %s would collide with %s already listed: %s; choose another first ID", kind, FormatIDRanges(ids), kind.Plural(), FormatIDRanges(clash))})
		}
	}
	var taken []string
	var takenIDs []int
	for _, it := range add.Items {
		if old, ok := symbols[symbolKey{it.Kind, it.GoFile, it.GoSymbol}]; ok {
			taken = append(taken, fmt.Sprintf("%s %s is %s %d", it.GoFile, it.GoSymbol, old.Kind, old.ID))
			takenIDs = append(takenIDs, old.ID)
		}
	}
	if len(taken) > 0 {
		refusal.Violations = append(refusal.Violations, Violation{Rule: "import-symbol",
			Detail: fmt.Sprintf("%d symbols are already listed (%s)", len(taken), abbreviate(taken, 3))})
	}
	if len(refusal.Violations) > 0 {
		return nil, &refusal
	}
	if err := ValidatePlan(merged); err != nil {
		return nil, err
	}
	return merged, nil
}

func sortedInts(ids []int) []int { return slices.Sorted(slices.Values(ids)) }

func orNone(ids []int) string {
	if len(ids) == 0 {
		return "no batch"
	}
	return "batch " + JoinIDs(ids)
}

// FormatIDRanges renders IDs as the CLI's list notation with runs folded
// into ranges: 2599-2796,2800.
func FormatIDRanges(ids []int) string {
	sorted := slices.Compact(sortedInts(ids))
	var parts []string
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", sorted[i], sorted[j]))
		} else {
			parts = append(parts, fmt.Sprint(sorted[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// AddCatalog adds a catalog's batches, items and calls to an existing
// database in one transaction (see MergeCatalog for what is refused);
// nothing already there changes. Calls may link the new features with
// features already in the database. Every new item and batch starts its
// history with source as the reason.
func (d *DB) AddCatalog(ctx context.Context, add *Catalog, actor, source string) error {
	return d.writeCatalog(ctx, func(tx *sql.Tx) error {
		base := &Catalog{}
		var err error
		if base.Batches, err = loadBatches(ctx, tx); err != nil {
			return err
		}
		for _, kind := range []ItemKind{KindFeature, KindTest} {
			items, err := loadItems(ctx, tx, kind, ItemFilter{})
			if err != nil {
				return err
			}
			base.Items = append(base.Items, items...)
		}
		if _, err := MergeCatalog(base, add); err != nil {
			return err
		}
		existing := map[int]bool{}
		for _, b := range base.Batches {
			existing[b.ID] = true
		}
		fresh := &Catalog{Items: add.Items, Calls: add.Calls}
		for _, b := range add.Batches {
			if !existing[b.ID] {
				fresh.Batches = append(fresh.Batches, b)
			}
		}
		return insertCatalog(ctx, tx, fresh, actor, d.timestamp(), source)
	})
}

// Catalog returns the database's plan: its batches, every item and every
// call, in ID order.
func (d *DB) Catalog(ctx context.Context) (*Catalog, error) {
	c := &Catalog{}
	var err error
	if c.Batches, err = loadBatches(ctx, d.sql); err != nil {
		return nil, err
	}
	for _, kind := range []ItemKind{KindFeature, KindTest} {
		items, err := loadItems(ctx, d.sql, kind, ItemFilter{})
		if err != nil {
			return nil, err
		}
		c.Items = append(c.Items, items...)
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT caller_id, callee_id FROM calls ORDER BY caller_id, callee_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var call [2]int
		if err := rows.Scan(&call[0], &call[1]); err != nil {
			return nil, err
		}
		c.Calls = append(c.Calls, call)
	}
	return c, rows.Err()
}
