package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
)

// judgedCallees are the callees the run judges itself instead of by their
// tracked status.
type judgedCallees struct {
	// inRun maps a feature ID to its callees that are in this run.
	inRun map[int][]db.Item
	// later maps a feature ID to its unfinished callees that the plan
	// schedules after it: in a later batch, or in a later group (slice) of
	// the same batch.
	later map[int][]db.Item
	// laterProblem says, per callee ID scheduled later, why its code does
	// not hold; empty when it passes the stub scan.
	laterProblem map[int]string
}

// calleeStatuses splits each feature's callees into those judged by their
// tracked status (for the dependency gate) and those the run judges.
func calleeStatuses(ctx context.Context, d *db.DB, items []db.Item, inRun map[gates.ItemKey]bool, byID map[int]db.Batch) (map[int][]gates.CalleeInfo, *judgedCallees, error) {
	tracked := map[int][]gates.CalleeInfo{}
	judged := &judgedCallees{inRun: map[int][]db.Item{}, later: map[int][]db.Item{}, laterProblem: map[int]string{}}
	for _, it := range items {
		if it.Kind != db.KindFeature {
			continue
		}
		cs, err := d.Callees(ctx, it.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cs {
			switch {
			case c.ID == it.ID:
				continue
			case inRun[itemKey(c)]:
				judged.inRun[it.ID] = append(judged.inRun[it.ID], c)
			case unfinishedStatus(c.Status) && (dependsOn(byID, c.BatchID, it.BatchID) || laterGroup(it, c)):
				judged.later[it.ID] = append(judged.later[it.ID], c)
			default:
				tracked[it.ID] = append(tracked[it.ID], gates.CalleeInfo{ID: c.ID, Symbol: c.GoSymbol, Status: string(c.Status)})
			}
		}
	}
	return tracked, judged, nil
}

func unfinishedStatus(s db.Status) bool { return s == db.StatusDeferred || s == db.StatusStub }

// laterGroup reports whether callee belongs to a group of caller's batch
// that the plan takes after caller's group (groups run A, B, C). The call
// graph has cycles across groups, so a group's callee in a later group
// cannot be verified first.
func laterGroup(caller, callee db.Item) bool {
	return callee.BatchID == caller.BatchID && caller.Slice != "" && callee.Slice != "" && callee.Slice > caller.Slice
}

// scheduledLater names where the plan puts a callee judged by its code.
func scheduledLater(callee db.Item, callerBatch int) string {
	if callee.BatchID != callerBatch {
		return fmt.Sprintf("of later batch %d", callee.BatchID)
	}
	return fmt.Sprintf("of later group %s of batch %d", callee.Slice, callee.BatchID)
}

// dependsOn reports whether batch a depends on batch b, directly or not.
func dependsOn(byID map[int]db.Batch, a, b int) bool {
	seen := map[int]bool{}
	for queue := slices.Clone(byID[a].DependsOn); len(queue) > 0; queue = queue[1:] {
		id := queue[0]
		if id == b {
			return true
		}
		if !seen[id] {
			seen[id] = true
			queue = append(queue, byID[id].DependsOn...)
		}
	}
	return false
}

// scanLater runs the stub scan over the mapped callees scheduled later and
// notes, per callee, why it does not hold.
func (j *judgedCallees) scanLater(ctx context.Context, root string, progress io.Writer) error {
	var mapped []db.Item
	seen := map[int]bool{}
	for _, cs := range j.later {
		for _, c := range cs {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			if c.TargetFile == "" || c.TargetSymbol == "" {
				j.laterProblem[c.ID] = "is not mapped"
				continue
			}
			mapped = append(mapped, c)
		}
	}
	if len(mapped) == 0 {
		return nil
	}
	slices.SortFunc(mapped, func(a, b db.Item) int { return a.ID - b.ID })
	if progress != nil {
		fmt.Fprintf(progress, "dependency: stub scan of %d callees scheduled later\n", len(mapped))
	}
	rs, err := gates.RunAll(ctx, []gates.Gate{gates.StubScan{}}, &gates.Input{RepoDir: root, Items: toGateItems(mapped)})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if !r.Passed {
			j.laterProblem[r.ItemID] = "fails the stub scan: " + r.Summary
		}
	}
	return nil
}

// judgeCallees fails the dependency result of every feature with a judged
// callee that does not hold, until no verdict changes (a failure in the run
// travels up chains and around cycles of calls).
func (r *gateRun) judgeCallees(items []db.Item, judged *judgedCallees) {
	depResult := map[int]int{}
	for i, res := range r.Results {
		if res.Gate == gates.GateDependency && res.Kind == gates.KindFeature {
			depResult[res.ItemID] = i
		}
	}
	fail := func(it db.Item, msg string) {
		res := &r.Results[depResult[it.ID]]
		res.Findings = append(res.Findings, gates.Finding{Message: msg})
		res.Passed = false
		res.Summary = msg
		r.Verdicts[itemKey(it)] = false
	}
	// Judged on the dependency result rather than the whole verdict, so
	// that a bad callee is reported even when the caller fails elsewhere.
	depPassed := func(it db.Item) bool {
		i, ok := depResult[it.ID]
		return ok && r.Results[i].Passed
	}
	for changed := true; changed; {
		changed = false
		for _, it := range items {
			if it.Kind != db.KindFeature || !depPassed(it) {
				continue
			}
			for _, c := range judged.later[it.ID] {
				if why := judged.laterProblem[c.ID]; why != "" {
					fail(it, fmt.Sprintf("callee %d %s %s is %s and %s", c.ID, c.GoSymbol, scheduledLater(c, it.BatchID), c.Status, why))
					changed = true
					break
				}
			}
			if !depPassed(it) {
				continue
			}
			for _, c := range judged.inRun[it.ID] {
				if !r.Verdicts[itemKey(c)] {
					fail(it, fmt.Sprintf("callee %d %s fails its gates in this run", c.ID, c.GoSymbol))
					changed = true
					break
				}
			}
		}
	}
	for _, it := range items {
		if it.Kind != db.KindFeature || !r.Verdicts[itemKey(it)] {
			continue
		}
		res := &r.Results[depResult[it.ID]]
		if n := len(judged.inRun[it.ID]); n > 0 {
			res.Summary += fmt.Sprintf("; %d callees pass their gates in this run", n)
		}
		if n := len(judged.later[it.ID]); n > 0 {
			res.Summary += fmt.Sprintf("; %d callees scheduled later pass the stub scan", n)
		}
	}
}
