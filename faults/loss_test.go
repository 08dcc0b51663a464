package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// lossRates are the message loss shares of issue 16.
var lossRates = []float64{0.01, 0.05, 0.20}

// lossRow is one line of the loss table.
type lossRow struct {
	faults string
	loss   float64
	report *Report
	ratio  float64 // throughput relative to the same run without loss
}

// lossTable runs the same seed without loss and at each loss rate, with
// only the loss and with the other faults too, and returns the rows.
func lossTable(t *testing.T, seed int64, duration time.Duration) []lossRow {
	var rows []lossRow
	for _, mix := range []struct {
		name  string
		kinds []Kind
	}{{"loss only", nil}, {"with other faults", []Kind{Partition, IsolateLeader, Crash, PowerLossOne}}} {
		var base float64
		for _, loss := range append([]float64{0}, lossRates...) {
			cfg := Config{Seed: seed, Nodes: 3, Duration: duration, Faults: mix.kinds, Loss: loss}
			r := runScenario(t, cfg)
			if loss == 0 {
				base = r.Throughput
			}
			row := lossRow{faults: mix.name, loss: loss, report: r}
			if base > 0 {
				row.ratio = r.Throughput / base
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func formatLossTable(rows []lossRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %5s %8s %6s %9s %9s %8s %9s %8s\n", "faults", "loss", "ops/s", "ratio", "catchups", "re-sent", "votes", "dropped", "unknown")
	for _, r := range rows {
		k := r.report.Counters
		fmt.Fprintf(&b, "%-18s %4.0f%% %8.0f %5.0f%% %9d %9d %8d %9d %8d\n", r.faults, 100*r.loss, r.report.Throughput, 100*r.ratio,
			k.CatchupStarts, k.CatchupEntries, k.VoteRequests, k.Messages.Dropped, k.Clients.Unknown)
	}
	return b.String()
}

// TestMessageLoss drops 1%, 5% and 20% of node-to-node messages, alone
// and with partitions and crashes: the checks hold at every rate, and the
// table reports throughput against the same run without loss, with the
// counters that explain it. Figures vary with the machine's load.
func TestMessageLoss(t *testing.T) {
	rows := lossTable(t, seedOr(t, 501), 3*time.Second)
	t.Logf("message loss (3 nodes, 5 clients, measured under the test machine's load):\n%s", formatLossTable(rows))
}
