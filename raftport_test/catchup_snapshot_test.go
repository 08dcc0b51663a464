package raftport_test

import "testing"

// TestCatchupSnapshotDeliveredTwiceIsNotStored: a follower behind the
// leader's snapshot receives the first message of its catchup, the
// snapshot plus the peer state, twice (a duplicated message, or a second
// stream to the same inbox). The copy starts exactly where installing the
// first left the log, so it passes the consistency check; stored as a log
// entry, it would later be applied as the state at the next index, and
// that index's real entry would be refused as already held: the follower
// would diverge from the group. Found by the fault suite (duplication,
// isolated leaders, snapshots).
func TestCatchupSnapshotDeliveredTwiceIsNotStored(t *testing.T) {
	st := stepNode(t)
	// A live entry far ahead of the empty log starts a catchup.
	st.live(aeFrom(nats0, 2).after(2, 10).committing(10).withEntry(), catchingUp())

	snapshot := aeFrom(nats0, 2).inLeaderTerm(2).after(2, 5).committing(5).carrying(st.snapshotEntries()...)
	st.catchup(snapshot, tip(2, 5), logHolds(0))
	st.catchup(snapshot, tip(2, 5), logHolds(0))
}
