package faults

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checks must fail when the store is broken on purpose; a suite that
// passes everything proves nothing.

// TestCheckerCatchesStaleReads serves gets from a random replica's local
// state while leaders are cut off: some replica answers from its past,
// and the history is not linearizable.
func TestCheckerCatchesStaleReads(t *testing.T) {
	cfg := Config{Seed: seedOr(t, 401), Nodes: 3, Duration: 4 * time.Second, Faults: []Kind{IsolateLeader, Partition}, Broken: StaleReads}
	r := Run(cfg, t.TempDir())
	if r.Linearizable != porcupine.Illegal {
		t.Fatalf("the checker passed a history of stale reads (%s)\n%s", resultName(r.Linearizable), r)
	}
	if len(r.Shortest) == 0 {
		t.Fatalf("no shortest failing history printed\n%s", r)
	}
	t.Logf("caught, as it must be: %v\nshortest failing history (%d ops):\n%s", r.Err(), len(r.Shortest), formatOps(r.Shortest))
}

// TestCheckerCatchesUnsyncedAcks acknowledges writes before any fsync and
// then cuts every node's power: acknowledged writes are lost, and the
// suite says so. No snapshots: raftport writes them durably (and the
// compaction after one syncs the log), which would save part of what the
// broken log loses.
func TestCheckerCatchesUnsyncedAcks(t *testing.T) {
	cfg := Config{Seed: seedOr(t, 402), Nodes: 3, Duration: 3 * time.Second, Faults: []Kind{PowerLossAll}, Broken: UnsyncedAcks, SnapshotEvery: -1}
	r := Run(cfg, t.TempDir())
	if len(r.Lost) == 0 {
		t.Fatalf("no acknowledged write lost to power loss without fsync\n%s", r)
	}
	t.Logf("caught, as it must be: %v; first lost: %s; linearizable: %s", r.Err(), r.Lost[0], resultName(r.Linearizable))
}
