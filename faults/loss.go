package faults

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LossRates are the message loss shares of issue 16.
var LossRates = []float64{0.01, 0.05, 0.20}

// lossMixes are the two settings the loss table compares: the loss alone,
// and the loss among partitions and crashes.
var lossMixes = []struct {
	name  string
	kinds []Kind
}{{"loss only", nil}, {"with other faults", []Kind{Partition, IsolateLeader, Crash, PowerLossOne}}}

// LossRow is one line of the loss table: the median of its runs.
type LossRow struct {
	Faults  string
	Loss    float64
	Runs    []*Report
	OpsPerS float64 // median throughput of the runs
	Ratio   float64 // OpsPerS against the same setting without loss
}

// LossTable runs every setting without loss and at each rate of
// LossRates, once per seed, each run checked as any other; a row's
// throughput is the median over the seeds. run runs one configuration
// (tests pass one that reports failures).
func LossTable(seeds []int64, duration time.Duration, run func(Config) *Report) []LossRow {
	var rows []LossRow
	for _, mix := range lossMixes {
		var base float64
		for _, loss := range append([]float64{0}, LossRates...) {
			row := LossRow{Faults: mix.name, Loss: loss}
			var tput []float64
			for _, seed := range seeds {
				r := run(Config{Seed: seed, Nodes: 3, Duration: duration, Faults: mix.kinds, Loss: loss})
				row.Runs = append(row.Runs, r)
				tput = append(tput, r.Throughput)
			}
			slices.Sort(tput)
			row.OpsPerS = tput[len(tput)/2]
			if loss == 0 {
				base = row.OpsPerS
			}
			if base > 0 {
				row.Ratio = row.OpsPerS / base
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// FormatLossTable prints the rows with the medians of the counters that
// explain them: the nodes' catchups asked for and streamed, entries
// re-sent, live entries held during catchups, elections and proposals
// dropped, then the messages the network lost and the client attempts
// left without a known outcome.
func FormatLossTable(rows []LossRow) string {
	median := func(rs []*Report, f func(*Report) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %5s %8s %6s %7s %7s %7s %7s %5s %7s %9s %9s\n", "faults", "loss", "ops/s", "ratio",
		"asked", "streams", "re-sent", "held", "elect", "dropped", "msgs lost", "unknown")
	for _, r := range rows {
		med := func(f func(*Report) uint64) float64 {
			return median(r.Runs, func(x *Report) float64 { return float64(f(x)) })
		}
		fmt.Fprintf(&b, "%-18s %4.0f%% %8.0f %5.0f%% %7.0f %7.0f %7.0f %7.0f %5.0f %7.0f %9.0f %9.0f\n", r.Faults, 100*r.Loss, r.OpsPerS, 100*r.Ratio,
			med(func(x *Report) uint64 { return x.Counters.Node.CatchupsRequested }),
			med(func(x *Report) uint64 { return x.Counters.Node.CatchupStreams }),
			med(func(x *Report) uint64 { return x.Counters.Node.EntriesResent }),
			med(func(x *Report) uint64 { return x.Counters.Node.LiveHeld }),
			med(func(x *Report) uint64 { return x.Counters.Node.Elections }),
			med(func(x *Report) uint64 { return x.Counters.Node.ProposalsDropped }),
			med(func(x *Report) uint64 { return x.Counters.Messages.Dropped }),
			med(func(x *Report) uint64 { return x.Counters.Clients.Unknown }))
	}
	return b.String()
}
