package bench

import (
	"slices"
	"time"
)

// Result holds what one Replicate measured. Allocation figures are deltas
// of the whole process over the measured span, so they include all three
// nodes, the transport and the workload's own payloads (one allocation of
// EntrySize bytes per entry, the same for every implementation).
type Result struct {
	Impl    string
	Entries int
	Elapsed time.Duration
	// LatencySum adds up, over every entry, the time from its proposal to
	// the leader applying it as committed.
	LatencySum time.Duration
	Mallocs    uint64
	TotalAlloc uint64
	// PeakHeapInuse is the largest heap-in-use sampled while replicating
	// (every heapSampleInterval, plus the start and the end).
	PeakHeapInuse uint64
}

// EntriesPerSec is the throughput.
func (r Result) EntriesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Entries) / r.Elapsed.Seconds()
}

// NsPerEntry is the wall time per replicated entry.
func (r Result) NsPerEntry() float64 { return r.per(float64(r.Elapsed.Nanoseconds())) }

// AllocsPerEntry is the number of heap allocations per entry.
func (r Result) AllocsPerEntry() float64 { return r.per(float64(r.Mallocs)) }

// BytesPerEntry is the number of bytes allocated per entry.
func (r Result) BytesPerEntry() float64 { return r.per(float64(r.TotalAlloc)) }

// MeanLatency is the mean proposal-to-commit time seen by the leader.
func (r Result) MeanLatency() time.Duration {
	if r.Entries == 0 {
		return 0
	}
	return r.LatencySum / time.Duration(r.Entries)
}

// PeakHeapMiB is PeakHeapInuse in MiB.
func (r Result) PeakHeapMiB() float64 { return float64(r.PeakHeapInuse) / (1 << 20) }

func (r Result) per(v float64) float64 {
	if r.Entries == 0 {
		return 0
	}
	return v / float64(r.Entries)
}

// Metric is one column of the comparison.
type Metric struct {
	Name string
	// HigherIsBetter orients the ratio: for throughput a ratio above 1
	// favours raftport, for costs a ratio below 1 does.
	HigherIsBetter bool
	Value          func(Result) float64
}

// Metrics are the compared figures, in table order.
func Metrics() []Metric {
	return []Metric{
		{Name: "entries/s", HigherIsBetter: true, Value: Result.EntriesPerSec},
		{Name: "ns/entry", Value: Result.NsPerEntry},
		{Name: "allocs/entry", Value: Result.AllocsPerEntry},
		{Name: "bytes/entry", Value: Result.BytesPerEntry},
		{Name: "peak heap MiB", Value: Result.PeakHeapMiB},
		{Name: "mean latency µs", Value: func(r Result) float64 { return float64(r.MeanLatency().Nanoseconds()) / 1e3 }},
	}
}

// Median returns, for every metric, the median of its values over runs
// (each metric on its own, so one slow run moves no column). An even
// count averages the middle two.
func Median(runs []Result) []float64 {
	out := make([]float64, 0, len(Metrics()))
	for _, m := range Metrics() {
		vals := make([]float64, 0, len(runs))
		for _, r := range runs {
			vals = append(vals, m.Value(r))
		}
		out = append(out, median(vals))
	}
	return out
}

func median(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	slices.Sort(vals)
	mid := len(vals) / 2
	if len(vals)%2 == 1 {
		return vals[mid]
	}
	return (vals[mid-1] + vals[mid]) / 2
}

// Ratios divides each of a's medians by b's; a zero denominator gives 0,
// which a table should show as not available.
func Ratios(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		if i < len(b) && b[i] != 0 {
			out[i] = a[i] / b[i]
		}
	}
	return out
}
