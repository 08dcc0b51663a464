package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"strconv"
)

// flatRecord is one attempt as written to runs.json and runs.csv. Figures
// a scenario does not have are omitted (JSON) or empty (CSV).
type flatRecord struct {
	Section   string `json:"section"`
	Library   string `json:"library"`
	Mode      string `json:"mode"`
	EntrySize int    `json:"entry_size,omitempty"`
	Proposers int    `json:"proposers,omitempty"`
	Window    int    `json:"window,omitempty"`
	Snapshot  bool   `json:"from_snapshot,omitempty"`
	Run       int    `json:"run"`
	Attempt   int    `json:"attempt"`
	Error     string `json:"error,omitempty"`

	EntriesPerSec         *float64 `json:"entries_per_sec,omitempty"`
	Entries               *int     `json:"entries,omitempty"`
	ElapsedMs             *float64 `json:"elapsed_ms,omitempty"`
	LatencyP50Us          *float64 `json:"latency_p50_us,omitempty"`
	LatencyP99Us          *float64 `json:"latency_p99_us,omitempty"`
	LatencyMeanUs         *float64 `json:"latency_mean_us,omitempty"`
	AllocsPerEntry        *float64 `json:"allocs_per_entry,omitempty"`
	BytesPerEntry         *float64 `json:"bytes_per_entry,omitempty"`
	FsyncsPerEntryPerNode *float64 `json:"fsyncs_per_entry_per_node,omitempty"`
	PeakHeapMiB           *float64 `json:"peak_heap_mib,omitempty"`
	LogEntries            *uint64  `json:"log_entries,omitempty"`
	HeapMiBPerMillion     *float64 `json:"retained_heap_mib_per_million,omitempty"`
	PeakRSSMiBPerMillion  *float64 `json:"peak_rss_mib_per_million,omitempty"`
	FailoverMs            *float64 `json:"failover_ms,omitempty"`
	CatchupBehind         *int     `json:"catchup_behind,omitempty"`
}

func ptr[T any](v T) *T { return &v }

func flatten(r record) flatRecord {
	f := flatRecord{Section: r.section, Library: r.column, Mode: string(r.row.mode), Run: r.run, Attempt: r.attempt,
		EntrySize: r.row.workload.EntrySize, Proposers: r.row.workload.Proposers, Window: r.row.workload.Window, Snapshot: r.row.snapshot}
	if r.err != nil {
		f.Error = r.err.Error()
		return f
	}
	switch {
	case r.throughput != nil:
		t := r.throughput
		f.EntriesPerSec, f.Entries, f.ElapsedMs = ptr(t.EntriesPerSec()), ptr(t.Entries), ptr(float64(t.Elapsed)/1e6)
		f.LatencyP50Us, f.LatencyP99Us, f.LatencyMeanUs = ptr(us(t.LatencyP50)), ptr(us(t.LatencyP99)), ptr(us(t.LatencyMean))
		f.LogEntries = ptr(t.LogEntries)
		if t.Target.Library != colJetStream {
			f.AllocsPerEntry, f.BytesPerEntry = ptr(t.AllocsPerEntry()), ptr(t.BytesPerEntry())
			f.PeakHeapMiB = ptr(float64(t.PeakHeap) / (1 << 20))
			f.HeapMiBPerMillion = ptr(t.RetainedHeapMiBPerMillion())
			if t.RSSMeasured {
				f.PeakRSSMiBPerMillion = ptr(t.PeakRSSMiBPerMillion())
			}
		}
		if v, ok := t.FsyncsPerEntryPerNode(); ok {
			f.FsyncsPerEntryPerNode = ptr(v)
		}
	case r.catchup != nil:
		f.EntriesPerSec, f.ElapsedMs, f.CatchupBehind = ptr(r.catchup.EntriesPerSec()), ptr(float64(r.catchup.Elapsed)/1e6), ptr(r.catchup.Behind)
		f.EntrySize = r.catchup.EntrySize
	default:
		f.FailoverMs = ptr(float64(r.failover) / 1e6)
	}
	return f
}

// writeRecords writes prefix.json (the setup and every attempt) and
// prefix.csv (every attempt, one per line).
func writeRecords(prefix string, s setup, recs []record) error {
	flat := make([]flatRecord, 0, len(recs))
	for _, r := range recs {
		flat = append(flat, flatten(r))
	}
	js, err := json.MarshalIndent(struct {
		Setup setup        `json:"setup"`
		Runs  []flatRecord `json:"runs"`
	}{s, flat}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(prefix+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(prefix + ".csv")
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(csvHeader); err != nil {
		return errors.Join(err, f.Close())
	}
	for _, r := range flat {
		if err := w.Write(r.csv()); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

var csvHeader = []string{"section", "library", "mode", "entry_size", "proposers", "window", "from_snapshot", "run", "attempt", "error",
	"entries_per_sec", "entries", "elapsed_ms", "latency_p50_us", "latency_p99_us", "latency_mean_us", "allocs_per_entry",
	"bytes_per_entry", "fsyncs_per_entry_per_node", "peak_heap_mib", "log_entries", "retained_heap_mib_per_million",
	"peak_rss_mib_per_million", "failover_ms", "catchup_behind"}

func (r flatRecord) csv() []string {
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', 6, 64)
	}
	whole := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v)
	}
	count := ""
	if r.LogEntries != nil {
		count = strconv.FormatUint(*r.LogEntries, 10)
	}
	return []string{r.Section, r.Library, r.Mode, strconv.Itoa(r.EntrySize), strconv.Itoa(r.Proposers), strconv.Itoa(r.Window),
		strconv.FormatBool(r.Snapshot), strconv.Itoa(r.Run), strconv.Itoa(r.Attempt), r.Error,
		num(r.EntriesPerSec), whole(r.Entries), num(r.ElapsedMs), num(r.LatencyP50Us), num(r.LatencyP99Us), num(r.LatencyMeanUs),
		num(r.AllocsPerEntry), num(r.BytesPerEntry), num(r.FsyncsPerEntryPerNode), num(r.PeakHeapMiB), count,
		num(r.HeapMiBPerMillion), num(r.PeakRSSMiBPerMillion), num(r.FailoverMs), whole(r.CatchupBehind)}
}
