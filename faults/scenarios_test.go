package faults

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// seedOr is the run's seed: FAULTS_SEED, when set, replays a failing run.
func seedOr(t *testing.T, seed int64) int64 {
	t.Helper()
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED=%q: %v", s, err)
		}
		return v
	}
	return seed
}

// runScenario runs cfg, logs its summary (the whole report with -v), and
// on failure the whole report: seed, schedule, events and the shortest
// failing history.
func runScenario(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.Seed = seedOr(t, cfg.Seed)
	r := Run(cfg, t.TempDir())
	if err := r.Err(); err != nil {
		t.Errorf("%v\nreplay with FAULTS_SEED=%d\n%s", err, r.Config.Seed, r)
		return r
	}
	if testing.Verbose() {
		t.Log(r)
	}
	t.Logf("%s: %d ops, %.0f ops/s, %d unknown, took %v", r.Config, r.Ops, r.Throughput, r.Unknown, r.Elapsed.Round(time.Millisecond))
	return r
}

// TestEachFaultAlone runs every kind of fault on its own, on three nodes:
// the history stays linearizable, no acknowledged write is lost, and
// every member applies the same commands.
func TestEachFaultAlone(t *testing.T) {
	for i, kind := range AllKinds {
		t.Run(string(kind), func(t *testing.T) {
			runScenario(t, Config{Seed: int64(100 + i), Nodes: 3, Duration: 3 * time.Second, Faults: []Kind{kind}})
		})
	}
}

// TestPartitionsOfFive runs the partitions where five nodes differ from
// three: a majority of three, a bridge between two pairs, a lone leader.
func TestPartitionsOfFive(t *testing.T) {
	for i, kind := range []Kind{Partition, Bridge, IsolateLeader} {
		t.Run(string(kind), func(t *testing.T) {
			runScenario(t, Config{Seed: int64(200 + i), Nodes: 5, Duration: 3 * time.Second, Faults: []Kind{kind}})
		})
	}
}

// TestMixedFaults draws from every kind at once, so faults overlap:
// crashes during partitions, power loss during membership changes,
// snapshots while a node is paused.
func TestMixedFaults(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		seed  int64
	}{{3, 301}, {3, 302}, {5, 303}, {5, 304}} {
		t.Run(fmt.Sprintf("R%d/seed%d", tc.nodes, tc.seed), func(t *testing.T) {
			runScenario(t, Config{Seed: tc.seed, Nodes: tc.nodes, Duration: 6 * time.Second, Faults: AllKinds})
		})
	}
}

// TestMixedFaultsWithLargeValues is TestMixedFaults with 16 KiB values,
// so that the leader's batches come from its batch memory (blocks shared
// with the log and the followers) through crashes, power loss and
// leadership changes.
func TestMixedFaultsWithLargeValues(t *testing.T) {
	runScenario(t, Config{Seed: 305, Nodes: 3, Duration: 6 * time.Second, Faults: AllKinds, ValueSize: 16 << 10})
}
