package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ValidatePlan checks that a catalog describes a plan that can finish,
// before anything is written. Broken references (an item in an undeclared
// batch, a call naming no feature, an ID listed twice) are a
// *BadInputError. Plans that could never finish are refused, one violation
// per problem:
//
//   - plan-dependency: a batch depends on itself or on an undeclared batch;
//   - plan-cycle: batches depend on each other in a cycle;
//   - plan-status: a batch's status contradicts its items or dependencies
//     (complete with no items, complete while items are unfinished,
//     started or complete while a dependency is not complete);
//   - plan-duplicate: one symbol of one file is listed as two items.
func ValidatePlan(c *Catalog) error {
	if err := checkReferences(c); err != nil {
		return err
	}
	var refusal RefusedError
	refusal.Violations = append(refusal.Violations, dependencyViolations(c.Batches)...)
	refusal.Violations = append(refusal.Violations, statusViolations(c)...)
	refusal.Violations = append(refusal.Violations, duplicateSymbols(c.Items)...)
	if len(refusal.Violations) > 0 {
		return &refusal
	}
	return nil
}

func checkReferences(c *Catalog) error {
	batches := map[int]bool{}
	var dupBatches []int
	for _, b := range c.Batches {
		if batches[b.ID] {
			dupBatches = append(dupBatches, b.ID)
		}
		batches[b.ID] = true
	}
	if len(dupBatches) > 0 {
		return &BadInputError{Msg: "catalog declares batches more than once: " + JoinIDs(dupBatches)}
	}
	ids := map[ItemKind]map[int]bool{KindFeature: {}, KindTest: {}}
	dups := map[ItemKind][]int{}
	orphans := map[ItemKind][]int{}
	for _, it := range c.Items {
		seen, ok := ids[it.Kind]
		if !ok {
			return &BadInputError{Msg: fmt.Sprintf("catalog item %d has unknown kind %q", it.ID, it.Kind)}
		}
		if seen[it.ID] {
			dups[it.Kind] = append(dups[it.Kind], it.ID)
		}
		seen[it.ID] = true
		if !batches[it.BatchID] {
			orphans[it.Kind] = append(orphans[it.Kind], it.ID)
		}
	}
	for _, kind := range []ItemKind{KindFeature, KindTest} {
		if len(dups[kind]) > 0 {
			return &BadInputError{Msg: fmt.Sprintf("catalog lists %s IDs more than once: %s", kind, JoinIDs(dups[kind]))}
		}
		if len(orphans[kind]) > 0 {
			return &BadInputError{Msg: fmt.Sprintf("catalog %s in batches it does not declare: %s", kind.Plural(), JoinIDs(orphans[kind]))}
		}
	}
	var dangling, twice []string
	calls := map[[2]int]bool{}
	for _, call := range c.Calls {
		if !ids[KindFeature][call[0]] || !ids[KindFeature][call[1]] {
			dangling = append(dangling, fmt.Sprintf("%d -> %d", call[0], call[1]))
		}
		if calls[call] {
			twice = append(twice, fmt.Sprintf("%d -> %d", call[0], call[1]))
		}
		calls[call] = true
	}
	if len(twice) > 0 {
		return &BadInputError{Msg: fmt.Sprintf("catalog lists calls more than once: %s", abbreviate(twice, 5))}
	}
	if len(dangling) > 0 {
		return &BadInputError{Msg: fmt.Sprintf("catalog calls name features it does not list: %s", abbreviate(dangling, 5))}
	}
	return nil
}

func dependencyViolations(batches []Batch) []Violation {
	declared := map[int]bool{}
	for _, b := range batches {
		declared[b.ID] = true
	}
	var out []Violation
	for _, b := range batches {
		for _, dep := range b.DependsOn {
			switch {
			case dep == b.ID:
				out = append(out, Violation{Rule: "plan-dependency", Detail: fmt.Sprintf("batch %d depends on itself", b.ID), IDs: []int{b.ID}})
			case !declared[dep]:
				out = append(out, Violation{Rule: "plan-dependency", Detail: fmt.Sprintf("batch %d depends on batch %d, which the plan does not declare", b.ID, dep), IDs: []int{b.ID}})
			}
		}
	}
	for _, cycle := range batchCycles(batches) {
		names := make([]string, len(cycle)+1)
		for i, id := range cycle {
			names[i] = fmt.Sprint(id)
		}
		names[len(cycle)] = names[0]
		sorted := slices.Sorted(slices.Values(cycle))
		out = append(out, Violation{Rule: "plan-cycle", Detail: fmt.Sprintf("batches depend on each other in a cycle (%s), so none of them can start", strings.Join(names, " -> ")), IDs: sorted})
	}
	return out
}

// batchCycles returns one dependency cycle per strongly connected group of
// batches, each starting at its smallest ID and following dependencies.
// Self-dependencies are reported on their own and skipped here.
func batchCycles(batches []Batch) [][]int {
	deps := map[int][]int{}
	var ids []int
	for _, b := range batches {
		ids = append(ids, b.ID)
		for _, d := range b.DependsOn {
			if d != b.ID {
				deps[b.ID] = append(deps[b.ID], d)
			}
		}
	}
	slices.Sort(ids)
	var cycles [][]int
	for _, group := range StronglyConnected(ids, func(id int) []int { return deps[id] }) {
		if len(group) < 2 {
			continue
		}
		cycles = append(cycles, cycleThrough(group, deps))
	}
	return cycles
}

// cycleThrough walks from the group's smallest member along dependencies
// inside the group until it comes back, which it must in a strongly
// connected group.
func cycleThrough(group []int, deps map[int][]int) []int {
	in := map[int]bool{}
	for _, id := range group {
		in[id] = true
	}
	start := slices.Min(group)
	// Breadth-first from start to find the shortest way back to it.
	prev := map[int]int{}
	queue := []int{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range slices.Sorted(slices.Values(deps[cur])) {
			if !in[next] {
				continue
			}
			if next == start {
				path := []int{cur}
				for p := cur; p != start; {
					p = prev[p]
					path = append(path, p)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return group
}

// StronglyConnected groups nodes into strongly connected components
// (Tarjan), each sorted, in reverse topological order: a component comes
// after every component it reaches through next. nodes fixes the visiting
// order, so the result is deterministic.
func StronglyConnected(nodes []int, next func(int) []int) [][]int {
	index := map[int]int{}
	low := map[int]int{}
	onStack := map[int]bool{}
	var stack []int
	var out [][]int
	counter := 0
	// Iterative, so a long call chain cannot overflow the goroutine stack.
	type frame struct {
		node  int
		edges []int
		i     int
	}
	for _, root := range nodes {
		if _, seen := index[root]; seen {
			continue
		}
		frames := []frame{{node: root, edges: next(root)}}
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(frames) > 0 {
			f := &frames[len(frames)-1]
			if f.i < len(f.edges) {
				w := f.edges[f.i]
				f.i++
				if _, seen := index[w]; !seen {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					frames = append(frames, frame{node: w, edges: next(w)})
				} else if onStack[w] {
					low[f.node] = min(low[f.node], index[w])
				}
				continue
			}
			v := f.node
			frames = frames[:len(frames)-1]
			if len(frames) > 0 {
				parent := frames[len(frames)-1].node
				low[parent] = min(low[parent], low[v])
			}
			if low[v] == index[v] {
				var group []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					group = append(group, w)
					if w == v {
						break
					}
				}
				slices.Sort(group)
				out = append(out, group)
			}
		}
	}
	return out
}

func statusViolations(c *Catalog) []Violation {
	byID := map[int]Batch{}
	for _, b := range c.Batches {
		byID[b.ID] = b
	}
	counts := map[int]int{}
	unfinished := map[int][]int{}
	for _, it := range c.Items {
		counts[it.BatchID]++
		if !settled(it) {
			unfinished[it.BatchID] = append(unfinished[it.BatchID], it.ID)
		}
	}
	var out []Violation
	for _, b := range c.Batches {
		if b.Status == BatchPending {
			continue
		}
		var pending []string
		for _, dep := range b.DependsOn {
			if d, ok := byID[dep]; ok && d.Status != BatchComplete {
				pending = append(pending, fmt.Sprintf("batch %d (%s)", dep, d.Status))
			}
		}
		if len(pending) > 0 {
			out = append(out, Violation{Rule: "plan-status", Detail: fmt.Sprintf("batch %d is %s but depends on %s, which is not complete", b.ID, b.Status, strings.Join(pending, ", ")), IDs: []int{b.ID}})
		}
		if b.Status != BatchComplete {
			continue
		}
		switch {
		case counts[b.ID] == 0:
			out = append(out, Violation{Rule: "plan-status", Detail: fmt.Sprintf("batch %d is complete but has no items; a batch with no items cannot be complete", b.ID), IDs: []int{b.ID}})
		case len(unfinished[b.ID]) > 0:
			out = append(out, Violation{Rule: "plan-status", Detail: fmt.Sprintf("batch %d is complete but %d of its %d items are neither verified, n_a nor deferred with an explicit reason", b.ID, len(unfinished[b.ID]), counts[b.ID]), IDs: []int{b.ID}})
		}
	}
	return out
}

// settled is what a complete batch requires of each item (see CompleteBatch).
func settled(it Item) bool {
	switch it.Status {
	case StatusVerified:
		return true
	case StatusDeferred, StatusNA:
		return strings.TrimSpace(it.Reason) != "" && it.Reason != InitialReason
	}
	return false
}

func duplicateSymbols(items []Item) []Violation {
	type key struct {
		kind         ItemKind
		file, symbol string
	}
	byKey := map[key][]int{}
	var order []key
	for _, it := range items {
		k := key{it.Kind, it.GoFile, it.GoSymbol}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], it.ID)
	}
	var out []Violation
	for _, k := range order {
		if ids := byKey[k]; len(ids) > 1 {
			out = append(out, Violation{Rule: "plan-duplicate", Detail: fmt.Sprintf("%s %s %s is listed as more than one %s", k.kind, k.file, k.symbol, k.kind), IDs: ids})
		}
	}
	return out
}

// abbreviate joins the first n parts and says how many more there are.
func abbreviate(parts []string, n int) string {
	if len(parts) <= n {
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(parts[:n], ", "), len(parts)-n)
}

// refuseEmpty refuses to start or complete a batch that has no items: it
// was declared ahead of its import, and completing it would let the
// batches that depend on it start on nothing.
func refuseEmpty(ctx context.Context, q querier, b Batch, action string) error {
	withItems, err := batchesWithItems(ctx, q)
	if err != nil {
		return err
	}
	if withItems[b.ID] {
		return nil
	}
	return refuse("batch-empty", fmt.Sprintf("batch %d %s has no items, so it cannot %s; import them first (porttrack import go --dir DIR --batch %d)", b.ID, b.Name, action, b.ID))
}

// batchesWithItems tells which batches have at least one feature or test.
func batchesWithItems(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT batch_id FROM features UNION SELECT DISTINCT batch_id FROM tests`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
