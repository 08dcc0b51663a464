package faults

import (
	"fmt"
	"testing"
	"time"
)

// TestCatchupBound is the bound of issue 15: under crashes and
// partitions, a follower is sent at most one catchup stream at a time and
// few catchups per second. Before the fix (streams with an identity both
// ends check) raftport broke it: replaced streams kept sending and stale
// entries cancelled new catchups.
func TestCatchupBound(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		seed  int64
	}{{3, 601}, {3, 602}, {5, 603}, {5, 604}} {
		t.Run(fmt.Sprintf("R%d/seed%d", tc.nodes, tc.seed), func(t *testing.T) {
			r := runScenario(t, Config{Seed: tc.seed, Nodes: tc.nodes, Duration: 6 * time.Second,
				Faults: []Kind{Partition, IsolateLeader, Crash, PowerLossOne}})
			if !r.Catchup.Holds() {
				t.Errorf("catchup bound broken: %s (bound: 1 stream per follower at a time, at most %d started per second)\nreplay with FAULTS_SEED=%d\n%s",
					r.Catchup, catchupStartsBound, r.Config.Seed, r)
			}
		})
	}
}
