package raftport_test

import (
	"math/rand/v2"
	"testing"
)

// TestNRGSimple ports test 2616: a 3-member group agrees on a sum proposed
// through random members.
func TestNRGSimple(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	rg.waitOnLeader()
	rg.randomMember().(*stateAdder).proposeDelta(22)
	rg.randomMember().(*stateAdder).proposeDelta(-11)
	rg.randomMember().(*stateAdder).proposeDelta(-10)
	rg.waitOnTotal(t, 1)
}

// TestNRGSnapshotAndRestart ports test 2617: a follower that snapshots,
// stops while the leader keeps committing and restarts from its file WAL
// and snapshot ends with the group's total.
func TestNRGSnapshotAndRestart(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	lsm := rg.waitOnLeader()
	require_NotNil(t, lsm)
	leader := lsm.(*stateAdder)

	var expectedTotal int64
	sm := rg.nonLeader().(*stateAdder)

	for i := 0; i < 1000; i++ {
		delta := rand.Int64N(222)
		expectedTotal += delta
		leader.proposeDelta(delta)

		if i == 250 {
			// Let the follower apply some of it before both snapshot.
			rg.waitOnTotal(t, expectedTotal)
			leader.snapshot(t)
			sm.snapshot(t)
			sm.stop()
		}
	}
	sm.restart()
	rg.waitOnTotal(t, expectedTotal)
}
