package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/gates"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

// gateColumns are the per-item gates in the order verify runs them.
var gateColumns = []string{gates.GateDependency, gates.GateStubScan, gates.GateBuild, gates.GateTest, gates.GateCoverage, gates.GateMutation}

// evidenceGate maps a gate's name to the tracker's name for its evidence.
func evidenceGate(name string) (db.Gate, error) {
	switch name {
	case gates.GateStubScan:
		return db.GateStub, nil
	case gates.GateSuite:
		return db.GateCheckpoint, nil
	}
	if g := db.Gate(name); slices.Contains(db.Gates, g) {
		return g, nil
	}
	return "", fmt.Errorf("gate %s has no evidence name in the tracker", name)
}

// provenance is what every evidence row of one run shares.
type provenance struct {
	Git       gitFacts
	GoVersion string
	// Command is the porttrack invocation, stored for gates that run no go
	// command of their own (dependency, stub scan).
	Command string
}

// resultDetail is the JSON stored in evidence.detail.
type resultDetail struct {
	Findings   []string       `json:"findings,omitempty"`
	DurationMS int64          `json:"duration_ms"`
	Coverage   *float64       `json:"coverage,omitempty"`
	KillRate   *float64       `json:"kill_rate,omitempty"`
	Gate       map[string]any `json:"gate,omitempty"`
	Dirty      []string       `json:"dirty_paths,omitempty"`
	Slice      string         `json:"slice,omitempty"`
}

func detailOf(r gates.Result, p provenance) resultDetail {
	d := resultDetail{DurationMS: r.Duration.Milliseconds(), Gate: r.Detail, Dirty: p.Git.Dirty}
	for _, f := range r.Findings {
		d.Findings = append(d.Findings, f.String())
	}
	switch r.Gate {
	case gates.GateCoverage:
		d.Coverage = &r.Coverage
	case gates.GateMutation:
		d.KillRate = &r.KillRate
	}
	return d
}

// itemEvidence turns every per-item result into an evidence row carrying the
// code hash of the item's batch as it was while the gates ran.
func (r *gateRun) itemEvidence(p provenance) ([]db.Evidence, error) {
	kinds := map[gates.ItemKey]db.Item{}
	for _, it := range r.Items {
		kinds[itemKey(it)] = it
	}
	var evs []db.Evidence
	for _, res := range r.Results {
		it, ok := kinds[gates.ItemKey{Kind: res.Kind, ID: res.ItemID}]
		if !ok {
			continue
		}
		g, err := evidenceGate(res.Gate)
		if err != nil {
			return nil, err
		}
		detail, err := json.Marshal(detailOf(res, p))
		if err != nil {
			return nil, err
		}
		cmd := res.Command
		if cmd == "" {
			cmd = p.Command
		}
		evs = append(evs, db.Evidence{
			Kind: it.Kind, ItemID: it.ID, BatchID: it.BatchID, Gate: g, Passed: res.Passed,
			Command: cmd, ExitCode: res.ExitCode, Summary: res.Summary, Detail: string(detail),
			GitCommit: p.Git.Commit, TreeDirty: !p.Git.clean(), GoVersion: p.GoVersion, CodeHash: r.Hashes[it.BatchID],
			Target: targetOf(it), TargetHash: r.TargetHashes[itemKey(it)],
		})
	}
	return evs, nil
}

// printGateTable prints one row per gate: how many items it judged, passed
// and failed, and which failed.
func printGateTable(w io.Writer, results []gates.Result) error {
	type tally struct {
		passed, failed int
		failing        []string
	}
	byGate := map[string]*tally{}
	var order []string
	for _, res := range results {
		t := byGate[res.Gate]
		if t == nil {
			t = &tally{}
			byGate[res.Gate] = t
			order = append(order, res.Gate)
		}
		if res.Passed {
			t.passed++
			continue
		}
		t.failed++
		if res.ItemID != 0 {
			t.failing = append(t.failing, fmt.Sprintf("%s %d", res.Kind, res.ItemID))
		}
	}
	rows := make([][]string, 0, len(order))
	for _, g := range order {
		t := byGate[g]
		rows = append(rows, []string{g, fmt.Sprint(t.passed + t.failed), fmt.Sprint(t.passed), fmt.Sprint(t.failed), orDash(abbreviate(t.failing, 8))})
	}
	return renderTable(w, []string{"Gate", "Judged", "Passed", "Failed", "Failing"}, rows)
}

// printItemTable prints one row per item with each gate's outcome, then one
// line per failed result with its summary.
func (r *gateRun) printItemTable(w io.Writer) error {
	cells := map[gates.ItemKey]map[string]string{}
	var failures []string
	for _, res := range r.Results {
		k := gates.ItemKey{Kind: res.Kind, ID: res.ItemID}
		if cells[k] == nil {
			cells[k] = map[string]string{}
		}
		cell := "ok"
		if !res.Passed {
			cell = "FAIL"
			failures = append(failures, fmt.Sprintf("%s %d %s: %s", res.Kind, res.ItemID, res.Gate, res.Summary))
		}
		if res.Gate == gates.GateCoverage && res.Passed {
			cell = fmt.Sprintf("ok %.0f%%", res.Coverage*100)
		}
		if res.Gate == gates.GateMutation {
			cell += fmt.Sprintf(" %.0f%%", res.KillRate*100)
		}
		cells[k][res.Gate] = cell
	}
	if err := textout.Print(w, r.itemTable(cells)); err != nil {
		return err
	}
	for _, f := range failures {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	return printFindings(w, r.Results)
}

// gateHeaders are the item table's short names of the gates, so that the
// outcomes of all six fit beside the target on an 80-column terminal.
var gateHeaders = map[string]string{gates.GateDependency: "Deps", gates.GateStubScan: "Stub", gates.GateBuild: "Build",
	gates.GateTest: "Test", gates.GateCoverage: "Cover", gates.GateMutation: "Mut"}

// itemTable is one row per item with each gate's outcome. The slice column
// is left out when every item has the same, and the target is cut at its
// start: a method's name says more than its receiver.
func (r *gateRun) itemTable(cells map[gates.ItemKey]map[string]string) textout.Table {
	sliceNames := map[string]bool{}
	for _, it := range r.Items {
		sliceNames[it.Slice] = true
	}
	withSlice := len(sliceNames) > 1
	header := []string{"Kind", "ID"}
	if withSlice {
		header = append(header, "Slice")
	}
	header = append(header, "Target")
	target := len(header) - 1
	for _, g := range gateColumns {
		header = append(header, gateHeaders[g])
	}
	header = append(header, "Verdict")
	rows := make([][]string, 0, len(r.Items))
	for _, it := range r.Items {
		row := []string{string(it.Kind), fmt.Sprint(it.ID)}
		if withSlice {
			row = append(row, orDash(it.Slice))
		}
		row = append(row, it.TargetSymbol)
		for _, g := range gateColumns {
			row = append(row, orDash(cells[itemKey(it)][g]))
		}
		verdict := "PASS"
		if !r.Verdicts[itemKey(it)] {
			verdict = "FAIL"
		}
		rows = append(rows, append(row, verdict))
	}
	keep := []int{}
	for j := range header {
		if j != target {
			keep = append(keep, j)
		}
	}
	return textout.Table{Header: header, Rows: rows, Keep: keep, CutFront: []int{target}}
}

// printFindings prints the findings behind each distinct failure once: a
// failed suite run is one outcome repeated for every feature, and its
// reasons (the failing or hung test) must not drown in, or be lost behind,
// the per-item lines.
func printFindings(w io.Writer, results []gates.Result) error {
	seen := map[string]bool{}
	for _, res := range results {
		key := res.Gate + "\x00" + res.Summary
		if res.Passed || len(res.Findings) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		if _, err := fmt.Fprintf(w, "%s: %s\n", res.Gate, res.Summary); err != nil {
			return err
		}
		for _, f := range res.Findings {
			if _, err := fmt.Fprintf(w, "    %s\n", f); err != nil {
				return err
			}
		}
	}
	return nil
}

// abbreviate joins names, cutting the list after max entries.
func abbreviate(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}
