package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/porttrack-dev/porttrack/bench"
)

// dash marks a cell with no figure: the library has no such mode, or the
// scenario does not apply. It never stands for a figure of another mode.
const dash = "—"

func report(w io.Writer, o options, setup setup, res *results) error {
	p := &printer{w: w, o: o, res: res}
	setup.print(w)
	if o.has(secBlocking) {
		p.throughputTable(secBlocking, fmt.Sprintf(
			"Throughput, blocking proposers: each proposer waits for its own entry to commit before it proposes the next,\n"+
				"as applications do. Committed entries/s, median [min-max] of %d runs.", o.runs))
		p.latencyTable()
		p.resourceTable()
	}
	if o.has(secPipelined) {
		p.throughputTable(secPipelined, fmt.Sprintf(
			"PIPELINED, not what a waiting application sees: ONE proposer keeps %d proposals in flight and proposes\n"+
				"the next without waiting for its commit (a batch loader's workload). Committed entries/s, median [min-max] of %d runs.", o.window, o.runs))
	}
	if o.has(secFailover) {
		p.failoverTable()
	}
	if o.has(secCatchup) {
		p.catchupTable()
	}
	if o.has(secNATS) {
		p.natsTable()
	}
	p.notes()
	return p.err
}

type printer struct {
	w   io.Writer
	o   options
	res *results
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// table prints a header, then rows of tab-separated cells.
func (p *printer) table(title string, header []string, rows [][]string) {
	p.printf("\n%s\n\n", title)
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	p.err = tw.Flush()
}

func (p *printer) titles(section string) []string {
	var out []string
	for _, col := range p.res.columns[section] {
		out = append(out, columnTitle(col))
	}
	return out
}

func columnTitle(col string) string {
	switch col {
	case colJetStream:
		return "JetStream R3"
	case colRaftportAuth:
		return "raftport+auth"
	}
	if lib, err := bench.LookupLibrary(col); err == nil {
		return lib.Title
	}
	return col
}

// spreadOf summarises f over a cell's runs, and false if it has none.
func (p *printer) spreadOf(key cellKey, f func(record) float64) (bench.Spread, bool) {
	runs := p.res.runs[key]
	if len(runs) == 0 {
		return bench.Spread{}, false
	}
	vals := make([]float64, 0, len(runs))
	for _, r := range runs {
		vals = append(vals, f(r))
	}
	return bench.SpreadOf(vals), true
}

// cell formats a cell's spread: a dash where the library has no such
// target, "failed" where every attempt of every run failed, and the count
// of runs behind the figure where some run failed every attempt.
func (p *printer) cell(key cellKey, f func(record) float64, format func(float64) string) string {
	s, ok := p.spreadOf(key, f)
	switch {
	case !ok && p.res.failed[key]:
		return "failed"
	case !ok:
		return dash
	}
	out := format(s.Median)
	if s.Runs > 1 {
		out = fmt.Sprintf("%s [%s-%s]", out, format(s.Min), format(s.Max))
	}
	if p.res.failed[key] {
		out += fmt.Sprintf(" (%d runs)", s.Runs)
	}
	return out
}

// median is a cell's median of f over its successful runs, or NaN
// without any.
func (p *printer) median(key cellKey, f func(record) float64) float64 {
	s, ok := p.spreadOf(key, f)
	if !ok {
		return math.NaN()
	}
	return s.Median
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return dash
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func entriesPerSec(r record) float64 { return r.throughput.EntriesPerSec() }

// rowLabel is the leading cells of a throughput row.
func rowLabel(section string, rw row) []string {
	w := rw.workload
	load := fmt.Sprintf("%d", w.Proposers)
	if w.Pipelined() {
		load = fmt.Sprintf("%d in flight", w.Window)
	}
	if section == secNATS {
		load = "1 synchronous"
		if w.Pipelined() {
			load = fmt.Sprintf("%d in flight", w.Window)
		}
		return []string{sizeLabel(w.EntrySize), load}
	}
	return []string{string(rw.mode), sizeLabel(w.EntrySize), load}
}

func sizeLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// describeRow names a row for progress lines.
func describeRow(section string, rw row) string {
	switch section {
	case secFailover:
		return string(rw.mode)
	case secCatchup:
		from := "from the log"
		if rw.snapshot {
			from = "from a snapshot"
		}
		return string(rw.mode) + ", " + from
	}
	label := rowLabel(section, rw)
	if section == secNATS {
		return "over NATS, " + strings.Join(label, ", ")
	}
	if rw.workload.Pipelined() {
		return strings.Join(label[:2], ", ") + ", pipelined " + label[2]
	}
	return strings.Join(label, ", ") + " proposer(s)"
}

// headline is a progress line's figure.
func headline(r record) string {
	switch {
	case r.throughput != nil:
		return si(r.throughput.EntriesPerSec()) + " entries/s"
	case r.catchup != nil:
		return fmt.Sprintf("%s ms (%s entries/s)", ms(r.catchup.Elapsed), si(r.catchup.EntriesPerSec()))
	default:
		return ms(r.failover) + " ms"
	}
}

func (p *printer) throughputTable(section, title string) {
	cols := p.res.columns[section]
	header := []string{"mode", "size", "proposers"}
	if section == secPipelined {
		header[2] = "window"
	}
	header = append(header, p.titles(section)...)
	ratios := ratioColumns(cols)
	for _, rc := range ratios {
		header = append(header, columnTitle(rc[0])+" ÷ "+columnTitle(rc[1]))
	}
	var rows [][]string
	for _, rw := range p.res.rows[section] {
		line := rowLabel(section, rw)
		for _, col := range cols {
			line = append(line, p.cell(cellKey{section, rw, col}, entriesPerSec, si))
		}
		for _, rc := range ratios {
			line = append(line, ratio(p.median(cellKey{section, rw, rc[0]}, entriesPerSec), p.median(cellKey{section, rw, rc[1]}, entriesPerSec)))
		}
		rows = append(rows, line)
	}
	p.table(title, header, rows)
}

// ratioColumns pairs the first column (raftport) with each other one.
func ratioColumns(cols []string) [][2]string {
	var out [][2]string
	if len(cols) == 0 || cols[0] != "raftport" {
		return nil
	}
	for _, c := range cols[1:] {
		out = append(out, [2]string{cols[0], c})
	}
	return out
}

func (p *printer) latencyTable() {
	header := append([]string{"mode", "size", "proposers"}, p.titles(secBlocking)...)
	var rows [][]string
	for _, rw := range p.res.rows[secBlocking] {
		line := rowLabel(secBlocking, rw)
		for _, col := range p.res.columns[secBlocking] {
			key := cellKey{secBlocking, rw, col}
			p50 := p.median(key, func(r record) float64 { return us(r.throughput.LatencyP50) })
			p99 := p.median(key, func(r record) float64 { return us(r.throughput.LatencyP99) })
			if math.IsNaN(p50) {
				line = append(line, p.cell(key, entriesPerSec, si)) // a dash or "failed"
				continue
			}
			line = append(line, fmt.Sprintf("%s / %s", si(p50), si(p99)))
		}
		rows = append(rows, line)
	}
	p.table("Commit latency with blocking proposers: proposal to the leader applying the entry, p50 / p99 in µs (medians of the runs).", header, rows)
}

func (p *printer) resourceTable() {
	header := []string{"mode", "size", "proposers", "library", "allocs/entry", "B alloc/entry", "log fsyncs/entry/node", "heap MiB/M entries", "peak RSS MiB/M entries"}
	var rows [][]string
	for _, rw := range p.res.rows[secBlocking] {
		for _, col := range p.res.columns[secBlocking] {
			key := cellKey{secBlocking, rw, col}
			if len(p.res.runs[key]) == 0 {
				continue
			}
			fsyncs := dash
			if _, counted := p.res.runs[key][0].throughput.FsyncsPerEntryPerNode(); counted {
				fsyncs = fmt.Sprintf("%.3f", p.median(key, func(r record) float64 { v, _ := r.throughput.FsyncsPerEntryPerNode(); return v }))
			}
			rssCell := dash
			if p.res.runs[key][0].throughput.RSSMeasured {
				rssCell = si(p.median(key, func(r record) float64 { return r.throughput.PeakRSSMiBPerMillion() }))
			}
			rows = append(rows, append(rowLabel(secBlocking, rw),
				columnTitle(col),
				fmt.Sprintf("%.1f", p.median(key, func(r record) float64 { return r.throughput.AllocsPerEntry() })),
				si(p.median(key, func(r record) float64 { return r.throughput.BytesPerEntry() })),
				fsyncs,
				si(p.median(key, func(r record) float64 { return r.throughput.RetainedHeapMiBPerMillion() })),
				rssCell,
			))
		}
	}
	p.table("Resources with blocking proposers (medians of the runs). Allocations: whole process over the measured span (3 nodes,\n"+
		"transport, one payload per entry). Log fsyncs: per committed entry per node (raftport's FileWAL counts them; bolt and the\n"+
		"in-memory logs do not: dash). Heap: live heap after a full GC at the end minus the same after the election; peak RSS:\n"+
		"VmHWM (reset at the start) minus VmRSS at the start; both per million entries in the log (warm-up included).", header, rows)
}

func (p *printer) failoverTable() {
	header := append([]string{"mode"}, p.titles(secFailover)...)
	var rows [][]string
	for _, rw := range p.res.rows[secFailover] {
		line := []string{string(rw.mode)}
		for _, col := range p.res.columns[secFailover] {
			line = append(line, p.cell(cellKey{secFailover, rw, col}, func(r record) float64 { return float64(r.failover) / 1e6 }, fixed0))
		}
		rows = append(rows, line)
	}
	p.table(fmt.Sprintf("Leader loss: time from crashing the leader of an idle group to the next commit on a new leader, ms,\n"+
		"median [min-max] of %d trials. Every library has election timeout %v: followers wait a random %v-%v, so this is mostly that wait.",
		p.o.failoverTrials, p.o.election, p.o.election, 2*p.o.election), header, rows)
}

func (p *printer) catchupTable() {
	header := append([]string{"mode", "from"}, p.titles(secCatchup)...)
	var rows [][]string
	for _, rw := range p.res.rows[secCatchup] {
		from := "log"
		if rw.snapshot {
			from = "snapshot"
		}
		line := []string{string(rw.mode), from}
		for _, col := range p.res.columns[secCatchup] {
			line = append(line, p.cell(cellKey{secCatchup, rw, col}, func(r record) float64 { return float64(r.catchup.Elapsed) / 1e6 }, fixed0))
		}
		rows = append(rows, line)
	}
	p.table(fmt.Sprintf("Catch-up: a follower crashed after the election, %s entries of %s were committed without it (and, for\n"+
		"\"snapshot\", the others snapshotted and dropped that log; the snapshot is as large as the entries it covers), then\n"+
		"it restarted with an empty state machine. Time from the restart until it applied every entry, ms, median [min-max]\n"+
		"of %d runs. Its restart (reopening its log) is included.",
		si(float64(p.o.catchupBehind)), sizeLabel(p.o.catchupSize), p.o.runs), header, rows)
}

func (p *printer) natsTable() {
	if err := p.res.sectionErrs[secNATS]; err != nil {
		p.printf("\nOver NATS: not measured: %v\n", err)
		return
	}
	header := []string{"size", "publisher"}
	var raftports []string // the columns before JetStream's
	for _, col := range p.res.columns[secNATS] {
		if col != colJetStream {
			raftports = append(raftports, col)
			header = append(header, columnTitle(col)+" (FileWAL)")
		}
	}
	header = append(header, "JetStream R3 (sync always)")
	for _, col := range raftports {
		header = append(header, columnTitle(col)+" ÷ JetStream")
	}
	var rows [][]string
	for _, rw := range p.res.rows[secNATS] {
		line := rowLabel(secNATS, rw)
		js := cellKey{secNATS, rw, colJetStream}
		for _, col := range raftports {
			line = append(line, p.cell(cellKey{secNATS, rw, col}, entriesPerSec, si))
		}
		line = append(line, p.cell(js, entriesPerSec, si))
		for _, col := range raftports {
			line = append(line, ratio(p.median(cellKey{secNATS, rw, col}, entriesPerSec), p.median(js, entriesPerSec)))
		}
		rows = append(rows, line)
	}
	p.table(fmt.Sprintf("Over NATS, durable: 3 embedded NATS servers on 127.0.0.1. raftport: FileWAL (fsync before ack), node i connected\n"+
		"to server i, proposing on its leader in-process. JetStream: an R3 file stream with sync_interval: always, one client\n"+
		"connected to the stream leader's server (one more hop than raftport's in-process proposer). \"1 synchronous\" waits\n"+
		"for each commit (Publish / a blocking proposer); \"in flight\" keeps that many unacknowledged (PublishAsync / the\n"+
		"pipelined proposer). Committed entries/s, median [min-max] of %d runs.", p.o.runs), header, rows)
}

func (p *printer) notes() {
	p.printf("\nLogs:\n")
	for _, lib := range p.o.libs {
		for _, mode := range p.o.modes {
			if t, ok := lib.Target(mode); ok {
				p.printf("  %-15s %-10s %s\n", lib.Title, mode, t.Log)
			} else {
				p.printf("  %-15s %-10s %s (cells: %s)\n", lib.Title, mode, "none", dash)
			}
		}
	}
	p.printf("  %s\n", bench.NoDurableLog)
	if p.o.authKey != nil {
		p.printf("raftport+auth: raftport on the same logs, %s.\n", bench.AuthDesc)
	}
	p.printf("Transports: each library's own in-process one (hashicorp's InmemTransport and the etcd driver pass messages by\n" +
		"pointer; raftport's encodes them, hands an append entry's encoding to its receivers as it is and copies other\n" +
		"messages once, shared by their receivers). 3 nodes in this one process, proposals on the leader.\n")
	var failed []string
	for key, recs := range p.res.errs {
		if p.res.failed[key] {
			failed = append(failed, fmt.Sprintf("  %s %s %s: %v", key.section, describeRow(key.section, key.row), key.column, recs[len(recs)-1].err))
		}
	}
	retried := 0
	for _, recs := range p.res.errs {
		retried += len(recs)
	}
	if retried > 0 {
		p.printf("Failed attempts: %d (retried; every one is in runs.json with its error).\n", retried)
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		p.printf("Cells with a run that failed every attempt (\"(n runs)\": the figure is of the runs that passed):\n%s\n", strings.Join(failed, "\n"))
	}
}

// si keeps large figures short (42.1k) and small ones precise.
func si(v float64) string {
	switch {
	case math.IsNaN(v):
		return dash
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fixed0(v float64) string { return fmt.Sprintf("%.0f", v) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/1e6) }

func us(d time.Duration) float64 { return float64(d) / 1e3 }
