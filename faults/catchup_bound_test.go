//go:build catchupbound

package faults

import (
	"fmt"
	"testing"
	"time"
)

// TestCatchupBound is the bound of issue 15: under crashes and
// partitions, a follower is sent at most one catchup stream at a time and
// few catchups per second. Today's raftport breaks it (the catchup
// storm: replaced streams keep sending, stale entries cancel new
// catchups), so it is built only with -tags catchupbound (make
// catchup-bound) until the fix lands; the core engineer then drops the
// build tag and it joins the CI budget.
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
