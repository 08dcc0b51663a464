package faults

import (
	"testing"
	"time"
)

// TestMessageLoss drops 1%, 5% and 20% of node-to-node messages, alone
// and with partitions and crashes: the checks hold at every rate, and the
// table reports throughput against the same run without loss, with the
// counters that explain it. One short run per row makes the ratios rough;
// go run ./faults/cmd/soak -loss takes medians of longer runs.
func TestMessageLoss(t *testing.T) {
	rows := LossTable([]int64{seedOr(t, 501)}, 3*time.Second, func(cfg Config) *Report { return runScenario(t, cfg) })
	t.Logf("message loss (3 nodes, 5 clients, one run per row, measured under the test machine's load):\n%s", FormatLossTable(rows))
}
