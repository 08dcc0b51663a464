package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

//go:embed report_html.tmpl
var reportTemplateText string

// reportTemplate escapes everything it prints (html/template); stored text
// also goes through esc, so control characters show as escapes, as in the
// terminal.
var reportTemplate = htmltemplate.Must(htmltemplate.New("report").Funcs(htmltemplate.FuncMap{
	"esc":       textout.Escape,
	"percent":   func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	"shortTime": func(at string) string { return timeCell(at, false) },
}).Parse(reportTemplateText))

// reportPage is the file report html writes into --out.
const reportPage = "index.html"

type reportHTMLOptions struct {
	Out string
}

func newReportHTMLCmd(e *env) *cobra.Command {
	opts := &reportHTMLOptions{}
	cmd := &cobra.Command{
		Use:   "html --out DIR",
		Short: "Write a self-contained progress page to DIR/index.html",
		Long: `Write a progress page to DIR/index.html: overall progress, a burn-up chart of
verified items over time from the status log, one bar per batch split by
status, each batch's groups and waves as tables, and per item its status,
reason, target and the evidence behind its last change. The page is one
file with its styles and charts inline: it loads nothing from the network
and prints legibly. DIR is created if needed; the database is only read.`,
		Example: `  porttrack report html --out report
  porttrack report html --out /tmp/progress --db /tmp/tour.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReportHTML(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "directory to write index.html into (required)")
	cmd.MarkFlagDirname("out")
	return cmd
}

func runReportHTML(ctx context.Context, e *env, opts *reportHTMLOptions) error {
	if opts.Out == "" {
		return usagef("report html needs --out DIR")
	}
	if info, err := os.Stat(opts.Out); err == nil && !info.IsDir() {
		return usagef("--out %s is a file, not a directory", opts.Out)
	}
	d, err := openDB(ctx, e)
	if err != nil {
		return err
	}
	defer d.Close()
	page, err := buildReportPage(ctx, d, filepath.Base(e.DBPath), time.Now())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, page); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return usagef("create --out %s: %v", opts.Out, err)
	}
	path := filepath.Join(opts.Out, reportPage)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	// A path is never cut to fit: it is what the reader copies next.
	_, err = fmt.Fprintf(e.Out, "Wrote %s (%d items, %d batches)\n", textout.Escape(path), page.Total, len(page.Batches))
	return err
}

// reportPageData is what the template shows.
type reportPageData struct {
	Database   string
	Generated  string
	LastChange string
	Done       int
	Total      int
	Percent    float64
	Verified   int
	Statuses   []statusTotal
	Chart      burnupChart
	Batches    []reportBatch
}

type statusTotal struct {
	Status   db.Status
	Features int
	Tests    int
	Count    int
}

type reportBatch struct {
	db.Batch
	Anchor      string
	Done, Total int
	Percent     float64
	Segments    []barSegment
	Slices      []reportSlice
	Checkpoints []reportEvidence
}

// barSegment is one status's share of a batch's bar.
type barSegment struct {
	Status db.Status
	Count  int
}

type reportSlice struct {
	// SharedReason is the reason every item has, shown once above the
	// table instead of in a column; empty when the reasons differ.
	SharedReason string
	Title        string
	Name         string
	Anchor       string
	Counts       []sliceCount
	Total        int
	Items        []reportItem
	// EvidenceRows counts the evidence rows of all items.
	EvidenceRows int
}

type sliceCount struct {
	Status db.Status
	Count  int
}

type reportItem struct {
	db.Item
	Anchor string
	Change *db.LogEntry
	// Evidence is what the last change rested on; empty when that change
	// needed none (an import, a deferral).
	Evidence []reportEvidence
	// Highlights sum the evidence up in a line: what it measured and how
	// long each gate took.
	Highlights []string
}

// reportEvidence is one evidence row as the page shows it.
type reportEvidence struct {
	db.Evidence
	Anchor   string
	Duration string
	Measures []string
	Findings []string
	// Other holds the fields this page has no column for, so fields added
	// to the evidence later are shown without a change here.
	Other []keyValue
}

type keyValue struct{ Key, Value string }

func buildReportPage(ctx context.Context, d *db.DB, dbName string, now time.Time) (reportPageData, error) {
	batches, err := d.Batches(ctx)
	if err != nil {
		return reportPageData{}, err
	}
	summaries, err := summarize(ctx, d, batches)
	if err != nil {
		return reportPageData{}, err
	}
	log, err := d.Log(ctx)
	if err != nil {
		return reportPageData{}, err
	}
	progress := progressOf(summaries)
	page := reportPageData{
		Database: dbName, Generated: now.UTC().Format(time.RFC3339),
		Done: progress.Done, Total: progress.Total, Percent: progress.Percent,
		Verified: progress.Features[db.StatusVerified] + progress.Tests[db.StatusVerified],
		Chart:    newBurnup(log),
	}
	if len(log) > 0 {
		page.LastChange = log[len(log)-1].At
	}
	for _, st := range db.ItemStatuses {
		page.Statuses = append(page.Statuses, statusTotal{Status: st, Features: progress.Features[st], Tests: progress.Tests[st],
			Count: progress.Features[st] + progress.Tests[st]})
	}
	lastChange := map[string]db.LogEntry{}
	for _, l := range log {
		lastChange[itemAnchor(l.Kind, l.ItemID)] = l
	}
	for _, s := range summaries {
		b, err := buildReportBatch(ctx, d, s, lastChange)
		if err != nil {
			return reportPageData{}, err
		}
		page.Batches = append(page.Batches, b)
	}
	return page, nil
}

func buildReportBatch(ctx context.Context, d *db.DB, s batchSummary, lastChange map[string]db.LogEntry) (reportBatch, error) {
	b := reportBatch{Batch: s.Batch, Anchor: fmt.Sprintf("batch-%d", s.ID)}
	b.Done = done(s.Features) + done(s.Tests)
	b.Total = s.Features.total() + s.Tests.total()
	b.Percent = percent(b.Done, b.Total)
	for _, st := range db.ItemStatuses {
		if n := s.Features[st] + s.Tests[st]; n > 0 {
			b.Segments = append(b.Segments, barSegment{Status: st, Count: n})
		}
	}
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		items, err := d.Items(ctx, kind, db.ItemFilter{BatchID: s.ID})
		if err != nil {
			return reportBatch{}, err
		}
		slices, err := buildReportSlices(ctx, d, b.Anchor, kind, items, lastChange)
		if err != nil {
			return reportBatch{}, err
		}
		b.Slices = append(b.Slices, slices...)
	}
	checkpoints, err := d.EvidenceOf(ctx, db.KindBatch, s.ID)
	if err != nil {
		return reportBatch{}, err
	}
	for _, ev := range checkpoints {
		b.Checkpoints = append(b.Checkpoints, newReportEvidence(ev))
	}
	return b, nil
}

// buildReportSlices groups a batch's items of one kind by slice, in catalog
// order: the design's groups (features) and waves (tests).
func buildReportSlices(ctx context.Context, d *db.DB, batchAnchor string, kind db.ItemKind, items []db.Item, lastChange map[string]db.LogEntry) ([]reportSlice, error) {
	var out []reportSlice
	index := map[string]int{}
	for _, it := range items {
		i, ok := index[it.Slice]
		if !ok {
			i = len(out)
			index[it.Slice] = i
			out = append(out, reportSlice{Title: sliceTitle(kind, it.Slice), Name: it.Slice,
				Anchor: fmt.Sprintf("%s-%s-%s", batchAnchor, kind, sliceSlug(it.Slice))})
		}
		ri, err := buildReportItem(ctx, d, it, lastChange)
		if err != nil {
			return nil, err
		}
		out[i].Items = append(out[i].Items, ri)
		out[i].EvidenceRows += len(ri.Evidence)
	}
	for i := range out {
		counts := countStatuses(itemsOf(out[i].Items))
		for _, st := range db.ItemStatuses {
			out[i].Counts = append(out[i].Counts, sliceCount{Status: st, Count: counts[st]})
		}
		out[i].Total = counts.total()
		out[i].SharedReason, _ = sharedReason(itemsOf(out[i].Items))
	}
	return out, nil
}

func sliceTitle(kind db.ItemKind, slice string) string {
	switch {
	case slice == "" && kind == db.KindFeature:
		return "Features"
	case slice == "":
		return "Tests"
	case kind == db.KindFeature:
		return "Features, group " + slice
	}
	return "Tests, wave " + slice
}

// sliceSlug makes a slice name safe in an anchor.
func sliceSlug(slice string) string {
	if slice == "" {
		return "all"
	}
	var b strings.Builder
	for _, r := range slice {
		if r < 0x80 && (r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "_%x", r)
		}
	}
	return b.String()
}

func itemsOf(items []reportItem) []db.Item {
	out := make([]db.Item, len(items))
	for i, it := range items {
		out[i] = it.Item
	}
	return out
}

func itemAnchor(kind db.ItemKind, id int) string { return fmt.Sprintf("%s-%d", kind, id) }

func buildReportItem(ctx context.Context, d *db.DB, it db.Item, lastChange map[string]db.LogEntry) (reportItem, error) {
	ri := reportItem{Item: it, Anchor: itemAnchor(it.Kind, it.ID)}
	change, ok := lastChange[ri.Anchor]
	if !ok {
		return ri, nil
	}
	ri.Change = &change
	if change.EvidenceID == nil {
		return ri, nil
	}
	behind, err := d.EvidenceBehind(ctx, it.Kind, it.ID, *change.EvidenceID)
	if err != nil {
		return reportItem{}, fmt.Errorf("%s %d, change at %s: %w", it.Kind, it.ID, change.At, err)
	}
	for _, ev := range behind {
		r := newReportEvidence(ev)
		ri.Evidence = append(ri.Evidence, r)
		for _, m := range r.Measures {
			if strings.HasPrefix(m, "coverage ") || strings.HasPrefix(m, "mutation ") {
				ri.Highlights = append(ri.Highlights, m)
			}
		}
		// The run that exercised the item: its test, or the suite run
		// that measured its coverage. The others' times are in the rows.
		if (ev.Gate == db.GateTest || ev.Gate == db.GateCoverage || ev.Gate == db.GateMutation) && r.Duration != "" {
			ri.Highlights = append(ri.Highlights, fmt.Sprintf("%s run %s", ev.Gate, r.Duration))
		}
	}
	return ri, nil
}

// shownEvidenceFields are the JSON fields of db.Evidence the page has a
// place for; any other field is listed under the row as it is.
var shownEvidenceFields = []string{"id", "item_kind", "item_id", "batch_id", "gate", "passed", "command", "exit_code",
	"summary", "detail", "git_commit", "tree_dirty", "go_version", "code_hash", "created_at"}

func newReportEvidence(ev db.Evidence) reportEvidence {
	r := reportEvidence{Evidence: ev, Anchor: fmt.Sprintf("evidence-%d", ev.ID)}
	r.Duration, r.Measures, r.Findings = readDetail(ev.Detail)
	if data, err := json.Marshal(ev); err == nil {
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) == nil {
			for k, v := range fields {
				if !slices.Contains(shownEvidenceFields, k) {
					r.Other = append(r.Other, keyValue{Key: k, Value: string(v)})
				}
			}
		}
	}
	sort.Slice(r.Other, func(i, j int) bool { return r.Other[i].Key < r.Other[j].Key })
	return r
}

// readDetail pulls what a reader wants from an evidence row's detail JSON:
// how long the gate took, what it measured (coverage, kill rate, the gate's
// own figures, a checkpoint's per-gate results) and its findings. A detail
// that is not JSON is shown as one finding.
func readDetail(detail string) (duration string, measures, findings []string) {
	if strings.TrimSpace(detail) == "" {
		return "", nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(detail), &fields); err != nil {
		return "", nil, []string{detail}
	}
	var ms *int64
	var coverage, killRate *float64
	var gate map[string]any
	var results map[string]resultDetail
	var slice string
	known := map[string]any{"duration_ms": &ms, "coverage": &coverage, "kill_rate": &killRate, "findings": &findings,
		"gate": &gate, "results": &results, "slice": &slice}
	var extra []string
	for key, raw := range fields {
		target, ok := known[key]
		if !ok || json.Unmarshal(raw, target) != nil {
			extra = append(extra, key+": "+compactJSON(raw))
		}
	}
	if ms != nil {
		duration = formatMillis(*ms)
	}
	if coverage != nil {
		measures = append(measures, fmt.Sprintf("coverage %.1f%%", *coverage*100))
	}
	if killRate != nil {
		measures = append(measures, fmt.Sprintf("mutation kill rate %.1f%%", *killRate*100))
	}
	if slice != "" {
		measures = append(measures, "slice "+slice)
	}
	measures = append(measures, describeMap(gate)...)
	for _, name := range sortedKeys(results) {
		res := results[name]
		m := fmt.Sprintf("%s: %s", name, formatMillis(res.DurationMS))
		if facts := describeMap(res.Gate); len(facts) > 0 {
			m += ", " + strings.Join(facts, ", ")
		}
		measures = append(measures, m)
	}
	slices.Sort(extra)
	return duration, append(measures, extra...), findings
}

func describeMap(m map[string]any) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		v, _ := json.Marshal(m[k])
		out = append(out, strings.ReplaceAll(k, "_", " ")+": "+string(v))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func formatMillis(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}
