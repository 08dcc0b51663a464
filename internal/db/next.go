package db

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// NextItem is one item to take now, or one that is blocked.
type NextItem struct {
	Kind    ItemKind `json:"kind"`
	ID      int      `json:"id"`
	BatchID int      `json:"batch"`
	Slice   string   `json:"slice"`
	Symbol  string   `json:"symbol"`
	Status  Status   `json:"status"`
	// Callees are a feature's callees with their statuses.
	Callees []Callee `json:"callees"`
	// CycleSize is the number of features in the call cycle it belongs
	// to (0 outside any); CycleCallees are its callees in that cycle.
	CycleSize    int   `json:"cycle_size"`
	CycleCallees []int `json:"cycle_callees"`
	// Why says why it comes here; for a blocked item, what blocks it.
	Why string `json:"why"`
}

// Callee is a callee of a feature as Next reports it.
type Callee struct {
	ID      int    `json:"id"`
	Symbol  string `json:"symbol"`
	BatchID int    `json:"batch"`
	Status  Status `json:"status"`
}

// BlockedBatch is a batch none of whose items can be taken, and why.
type BlockedBatch struct {
	ID       int         `json:"id"`
	Name     string      `json:"name"`
	Status   BatchStatus `json:"status"`
	Features int         `json:"features"`
	Tests    int         `json:"tests"`
	Why      string      `json:"why"`
}

// NextPlan is what Next returns.
type NextPlan struct {
	// Next are the items to take now, in order.
	Next []NextItem `json:"next"`
	// Blocked are items of batches that can start which must wait.
	Blocked []NextItem `json:"blocked"`
	// BlockedBatches are the unfinished batches that cannot start.
	BlockedBatches []BlockedBatch `json:"blocked_batches"`
	// Total counts the items to take, however many Next holds.
	Total int `json:"total"`
	// Deferred counts the items of batches that can start that are
	// deferred with an explicit reason: not work to take, not blocked.
	Deferred int `json:"deferred_with_reason"`
	// Complete lists the complete batches.
	Complete []int `json:"complete_batches"`
}

// Next reads the plan and orders the work (see PlanNext).
func (d *DB) Next(ctx context.Context, batch, limit int) (*NextPlan, error) {
	c, err := d.workCatalog(ctx)
	if err != nil {
		return nil, err
	}
	if batch != 0 && !slices.ContainsFunc(c.Batches, func(b Batch) bool { return b.ID == batch }) {
		return nil, &BadInputError{Msg: fmt.Sprintf("unknown batch %d", batch)}
	}
	return PlanNext(c, batch, limit), nil
}

// workCatalog loads what PlanNext reads: batches, the items without their
// spans, targets and reasons (a deferred item's reason only tells whether
// it was given explicitly), and the calls. SQLite joins each table into
// one string: the driver's cost is per row and column, and a whole
// server's catalog has thousands of both. The separators are control
// characters, which catalog fields never hold (see readTSV).
func (d *DB) workCatalog(ctx context.Context) (*Catalog, error) {
	c := &Catalog{}
	var err error
	if c.Batches, err = loadBatches(ctx, d.sql); err != nil {
		return nil, err
	}
	for _, kind := range []ItemKind{KindFeature, KindTest} {
		table, err := kind.table()
		if err != nil {
			return nil, err
		}
		var joined string
		if err := d.sql.QueryRowContext(ctx, `SELECT COALESCE(group_concat(id || char(31) || batch_id || char(31) || status || char(31) ||
			(status = 'deferred' AND reason <> ?) || char(31) || slice || char(31) || go_symbol, char(30)), '') FROM `+table, InitialReason).Scan(&joined); err != nil {
			return nil, err
		}
		for row := range strings.SplitSeq(joined, "\x1e") {
			if row == "" {
				continue
			}
			f := strings.SplitN(row, "\x1f", 6)
			if len(f) != 6 {
				return nil, fmt.Errorf("%s row %q: want 6 fields", table, row)
			}
			id, err1 := strconv.Atoi(f[0])
			batch, err2 := strconv.Atoi(f[1])
			if err := cmp.Or(err1, err2); err != nil {
				return nil, err
			}
			it := Item{Kind: kind, ID: id, BatchID: batch, Status: Status(f[2]), Slice: f[4], GoSymbol: f[5], Reason: InitialReason}
			if f[3] == "1" {
				// Explicitly deferred: the reason itself is read when a
				// blocked caller needs it.
				it.Reason = explicitReason
			}
			c.Items = append(c.Items, it)
		}
	}
	var joined string
	if err := d.sql.QueryRowContext(ctx, `SELECT COALESCE(group_concat(caller_id || ',' || callee_id, ' '), '') FROM calls`).Scan(&joined); err != nil {
		return nil, err
	}
	for pair := range strings.FieldsSeq(joined) {
		a, b, _ := strings.Cut(pair, ",")
		caller, err1 := strconv.Atoi(a)
		callee, err2 := strconv.Atoi(b)
		if err := cmp.Or(err1, err2); err != nil {
			return nil, err
		}
		c.Calls = append(c.Calls, [2]int{caller, callee})
	}
	return c, nil
}

// explicitReason marks, in workCatalog's items, a reason that is not
// InitialReason without reading it.
const explicitReason = "\x00explicit"

// PlanNext orders the unfinished items of the batches that can start (in
// progress, or pending with every dependency complete and items to take)
// so that callees come before their callers, across batches, as far as
// the dependency gate needs it: a callee the plan schedules after its
// caller (in a later batch or a later group of the caller's batch) is
// judged by its code and imposes no order. Features that call each other
// in a cycle come together, as one verify run judges them together. Among
// items free to go, the lower batch, group and ID go first. A batch's
// tests follow its last feature, as tests have no call edges.
//
// A feature is blocked when a callee it must wait for can never come
// first (it is deferred on purpose, or in a batch that cannot start), and
// so is every feature that waits on a blocked one.
//
// onlyBatch, when non-zero, keeps that batch's items; limit, when
// positive, cuts the list to take and NextPlan.Total counts it whole.
func PlanNext(c *Catalog, onlyBatch, limit int) *NextPlan {
	g := newWorkGraph(c)
	plan := &NextPlan{Next: []NextItem{}, Blocked: []NextItem{}, BlockedBatches: []BlockedBatch{}, Complete: []int{}}
	for _, b := range c.Batches {
		if onlyBatch != 0 && b.ID != onlyBatch {
			continue
		}
		switch {
		case b.Status == BatchComplete:
			plan.Complete = append(plan.Complete, b.ID)
		case !g.startable[b.ID]:
			plan.BlockedBatches = append(plan.BlockedBatches, g.blockedBatch(b))
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		if g.startable[it.BatchID] && it.Status == StatusDeferred && it.Reason != InitialReason && (onlyBatch == 0 || it.BatchID == onlyBatch) {
			plan.Deferred++
		}
	}
	for _, w := range g.order() {
		if onlyBatch != 0 && w.item.BatchID != onlyBatch {
			continue
		}
		switch {
		case w.blockedBy != "":
			plan.Blocked = append(plan.Blocked, g.describe(w))
		case limit <= 0 || len(plan.Next) < limit:
			plan.Next = append(plan.Next, g.describe(w))
			plan.Total++
		default:
			plan.Total++
		}
	}
	return plan
}

type workItem struct {
	item *Item
	// waitsOn are the open features that must come first; laterCallees
	// are unfinished ones the plan schedules after it.
	waitsOn      []*workItem
	laterCallees []int
	// blockedBy says what keeps it from coming first; empty when nothing.
	blockedBy string
	// group is its call cycle's index; groupSize the cycle's size.
	group, groupSize int
	// before are the callees placed ahead of it in the order.
	before []int
	// lastOf names the feature a test follows; -1 when none.
	lastOf int
}

type workGraph struct {
	batches   map[int]*Batch
	startable map[int]bool
	features  map[int]*Item
	callees   map[int][]int
	// open holds the features to take, by ID.
	open  map[int]*workItem
	tests []*workItem
	count map[int][2]int
	// later memoizes scheduledLater across batches.
	later map[[2]int]bool
}

func newWorkGraph(c *Catalog) *workGraph {
	g := &workGraph{batches: make(map[int]*Batch, len(c.Batches)), startable: map[int]bool{}, features: make(map[int]*Item, len(c.Items)),
		callees: map[int][]int{}, open: map[int]*workItem{}, count: map[int][2]int{}, later: map[[2]int]bool{}}
	for i := range c.Batches {
		g.batches[c.Batches[i].ID] = &c.Batches[i]
	}
	for i := range c.Items {
		it := &c.Items[i]
		n := g.count[it.BatchID]
		if it.Kind == KindFeature {
			n[0]++
			g.features[it.ID] = it
		} else {
			n[1]++
		}
		g.count[it.BatchID] = n
	}
	for _, b := range c.Batches {
		items := g.count[b.ID][0] + g.count[b.ID][1]
		g.startable[b.ID] = b.Status == BatchInProgress || (b.Status == BatchPending && items > 0 && g.depsComplete(b))
	}
	for _, call := range c.Calls {
		if call[0] != call[1] {
			g.callees[call[0]] = append(g.callees[call[0]], call[1])
		}
	}
	for id, ids := range g.callees {
		slices.Sort(ids)
		g.callees[id] = slices.Compact(ids)
	}
	for i := range c.Items {
		it := &c.Items[i]
		if !g.startable[it.BatchID] || !toTake(*it) {
			continue
		}
		w := &workItem{item: it, lastOf: -1}
		if it.Kind == KindFeature {
			g.open[it.ID] = w
		} else {
			g.tests = append(g.tests, w)
		}
	}
	for _, w := range g.open {
		g.classifyCallees(w)
	}
	return g
}

func (g *workGraph) depsComplete(b Batch) bool {
	for _, dep := range b.DependsOn {
		if d, ok := g.batches[dep]; !ok || d.Status != BatchComplete {
			return false
		}
	}
	return true
}

// toTake: unfinished, and not deferred on purpose.
func toTake(it Item) bool {
	switch it.Status {
	case StatusStub, StatusComplete:
		return true
	case StatusDeferred:
		return it.Reason == InitialReason
	}
	return false
}

func (g *workGraph) classifyCallees(w *workItem) {
	for _, id := range g.callees[w.item.ID] {
		c, ok := g.features[id]
		if !ok {
			continue
		}
		unfinished := c.Status == StatusDeferred || c.Status == StatusStub
		switch {
		case unfinished && g.scheduledLater(w.item, c):
			w.laterCallees = append(w.laterCallees, c.ID)
		case g.open[c.ID] != nil:
			w.waitsOn = append(w.waitsOn, g.open[c.ID])
		case !unfinished || w.blockedBy != "":
		case c.Status == StatusDeferred && c.Reason != InitialReason:
			w.blockedBy = fmt.Sprintf("callee %d %s is deferred on purpose (porttrack feature show %d says why)", c.ID, c.GoSymbol, c.ID)
		default:
			w.blockedBy = fmt.Sprintf("callee %d %s is %s in batch %d, which cannot start", c.ID, c.GoSymbol, c.Status, c.BatchID)
		}
	}
}

// scheduledLater follows the dependency gate: a callee in a batch that
// depends on the caller's, or in a later group of the caller's batch.
func (g *workGraph) scheduledLater(caller, callee *Item) bool {
	if callee.BatchID == caller.BatchID {
		return caller.Slice != "" && callee.Slice != "" && callee.Slice > caller.Slice
	}
	key := [2]int{callee.BatchID, caller.BatchID}
	if later, ok := g.later[key]; ok {
		return later
	}
	later := false
	seen := map[int]bool{}
	for queue := slices.Clone(g.batches[callee.BatchID].DependsOn); len(queue) > 0 && !later; queue = queue[1:] {
		id := queue[0]
		later = id == caller.BatchID
		if b, ok := g.batches[id]; ok && !seen[id] {
			seen[id] = true
			queue = append(queue, b.DependsOn...)
		}
	}
	g.later[key] = later
	return later
}

func (g *workGraph) blockedBatch(b Batch) BlockedBatch {
	n := g.count[b.ID]
	bb := BlockedBatch{ID: b.ID, Name: b.Name, Status: b.Status, Features: n[0], Tests: n[1]}
	var why []string
	if n[0]+n[1] == 0 {
		why = append(why, fmt.Sprintf("has no items yet; import them (porttrack import go --dir DIR --batch %d)", b.ID))
	}
	byID := make(map[int]Batch, len(g.batches))
	for id, other := range g.batches {
		byID[id] = *other
	}
	if deps := unfinishedDeps(b, byID); len(deps) > 0 {
		why = append(why, "waits for "+strings.Join(deps, ", "))
	}
	bb.Why = strings.Join(why, "; ")
	return bb
}

// order returns the open items, features in dependency order with each
// batch's tests after its last feature, blocked ones included and marked.
func (g *workGraph) order() []*workItem {
	ids := make([]int, 0, len(g.open))
	for id := range g.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	groups := StronglyConnected(ids, func(id int) []int {
		w := g.open[id]
		out := make([]int, len(w.waitsOn))
		for i, dep := range w.waitsOn {
			out[i] = dep.item.ID
		}
		return out
	})
	members := make([][]*workItem, len(groups))
	for i, grp := range groups {
		members[i] = make([]*workItem, len(grp))
		for j, id := range grp {
			w := g.open[id]
			w.group, w.groupSize = i, len(grp)
			members[i][j] = w
		}
	}
	// Tarjan's order puts a group after every group it waits on, so one
	// pass settles what is blocked, and the group's members share it.
	for i := range groups {
		blockedBy := ""
		for _, w := range members[i] {
			if blockedBy == "" {
				blockedBy = w.blockedBy
			}
			for _, dep := range w.waitsOn {
				if dep.group != i && dep.blockedBy != "" && blockedBy == "" {
					blockedBy = fmt.Sprintf("waits for callee %d %s, which is blocked (%s)", dep.item.ID, dep.item.GoSymbol, dep.blockedBy)
				}
			}
		}
		for _, w := range members[i] {
			w.blockedBy = blockedBy
		}
	}
	// Kahn's algorithm over the groups, lowest key first.
	waiting := make([]int, len(groups))
	callers := make([][]int, len(groups))
	for i := range groups {
		seen := map[int]bool{}
		for _, w := range members[i] {
			for _, dep := range w.waitsOn {
				if j := dep.group; j != i && !seen[j] {
					seen[j] = true
					callers[j] = append(callers[j], i)
				}
			}
		}
		waiting[i] = len(seen)
	}
	keyOf := func(i int) groupKey {
		var k groupKey
		for j, w := range members[i] {
			if other := (groupKey{batch: w.item.BatchID, slice: w.item.Slice, id: w.item.ID}); j == 0 || compareGroupKeys(other, k) < 0 {
				k = other
			}
		}
		return k
	}
	ready := &groupHeap{}
	for i := range groups {
		if waiting[i] == 0 {
			heap.Push(ready, keyed{keyOf(i), i})
		}
	}
	features := make([]*workItem, 0, len(g.open))
	placed := make([]bool, len(groups))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(keyed).group
		for _, w := range members[i] {
			for _, dep := range w.waitsOn {
				if placed[dep.group] {
					w.before = append(w.before, dep.item.ID)
				}
			}
			features = append(features, w)
		}
		placed[i] = true
		for _, caller := range callers[i] {
			if waiting[caller]--; waiting[caller] == 0 {
				heap.Push(ready, keyed{keyOf(caller), caller})
			}
		}
	}
	return g.placeTests(features)
}

type groupKey struct {
	batch int
	slice string
	id    int
}

func compareGroupKeys(a, b groupKey) int {
	return cmp.Or(cmp.Compare(a.batch, b.batch), cmp.Compare(a.slice, b.slice), cmp.Compare(a.id, b.id))
}

type keyed struct {
	key   groupKey
	group int
}

type groupHeap []keyed

func (h groupHeap) Len() int           { return len(h) }
func (h groupHeap) Less(i, j int) bool { return compareGroupKeys(h[i].key, h[j].key) < 0 }
func (h groupHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *groupHeap) Push(x any)        { *h = append(*h, x.(keyed)) }
func (h *groupHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// placeTests puts each batch's tests after its last feature in the order;
// the tests of a batch with no feature to take come first.
func (g *workGraph) placeTests(features []*workItem) []*workItem {
	slices.SortFunc(g.tests, func(a, b *workItem) int {
		return cmp.Or(cmp.Compare(a.item.BatchID, b.item.BatchID), cmp.Compare(a.item.Slice, b.item.Slice), cmp.Compare(a.item.ID, b.item.ID))
	})
	last := map[int]int{}
	for i, w := range features {
		last[w.item.BatchID] = i
	}
	after := map[int][]*workItem{}
	out := make([]*workItem, 0, len(features)+len(g.tests))
	for _, t := range g.tests {
		if i, ok := last[t.item.BatchID]; ok {
			t.lastOf = features[i].item.ID
			after[i] = append(after[i], t)
			continue
		}
		out = append(out, t)
	}
	for i, w := range features {
		out = append(out, w)
		out = append(out, after[i]...)
	}
	return out
}

// describe builds what the user sees of an item: its callees with their
// statuses and why it comes where it does.
func (g *workGraph) describe(w *workItem) NextItem {
	it := w.item
	n := NextItem{Kind: it.Kind, ID: it.ID, BatchID: it.BatchID, Slice: it.Slice, Symbol: it.GoSymbol, Status: it.Status,
		Callees: []Callee{}, CycleCallees: []int{}}
	if it.Kind == KindTest {
		n.Why = fmt.Sprintf("test of batch %d", it.BatchID)
		if it.Slice != "" {
			n.Why += " wave " + it.Slice
		}
		if w.lastOf >= 0 {
			n.Why += fmt.Sprintf("; after the batch's features, the last of them %d", w.lastOf)
		} else {
			n.Why += "; the batch has no feature left to take"
		}
		return n
	}
	for _, id := range g.callees[it.ID] {
		if c, ok := g.features[id]; ok {
			n.Callees = append(n.Callees, Callee{ID: c.ID, Symbol: c.GoSymbol, BatchID: c.BatchID, Status: c.Status})
		}
	}
	if w.groupSize > 1 {
		n.CycleSize = w.groupSize
		for _, dep := range w.waitsOn {
			if dep.group == w.group {
				n.CycleCallees = append(n.CycleCallees, dep.item.ID)
			}
		}
	}
	if w.blockedBy != "" {
		n.Why = w.blockedBy
		return n
	}
	var parts []string
	switch it.Status {
	case StatusComplete:
		parts = append(parts, "complete: verify --promote takes it to verified once its gates pass")
	case StatusStub:
		parts = append(parts, "stub: finish the port, then verify")
	default:
		parts = append(parts, "not yet ported")
	}
	if n.CycleSize > 0 {
		parts = append(parts, fmt.Sprintf("in a call cycle of %d features (it calls %s of them): take the cycle together, one verify run judges it together",
			n.CycleSize, JoinIDs(n.CycleCallees)))
	}
	finished := len(n.Callees) - len(w.waitsOn) - len(w.laterCallees)
	switch {
	case len(n.Callees) == 0:
		parts = append(parts, "calls no other feature")
	case len(w.before) > 0:
		parts = append(parts, fmt.Sprintf("after %s %s, earlier in this list", pluralWord(len(w.before), "its callee", "its callees"), JoinIDs(w.before)))
	case finished == len(n.Callees):
		parts = append(parts, fmt.Sprintf("%s finished", pluralWord(finished, "its callee is", fmt.Sprintf("its %d callees are", finished))))
	}
	if k := len(w.laterCallees); k > 0 {
		parts = append(parts, fmt.Sprintf("%s %s %s later in the plan, judged by %s code (mapped, no stub)",
			pluralWord(k, "callee", "callees"), JoinIDs(w.laterCallees), pluralWord(k, "comes", "come"), pluralWord(k, "its", "their")))
	}
	n.Why = strings.Join(parts, "; ")
	return n
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
