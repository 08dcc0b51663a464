package raftport_test

import (
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
)

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

// TestCatchupSnapshotEndsAPendingMembershipChange: a follower holding an
// uncommitted peer removal is caught up from a snapshot past it. Whatever
// became of that entry, the snapshot settled it: the change is no longer
// pending. Left pending, every later membership change is refused for
// good (the fault suite saw a healed group's leader report a change in
// progress for 30s while it committed everything else).
func TestCatchupSnapshotEndsAPendingMembershipChange(t *testing.T) {
	st := stepNode(t)
	removal := &raftport.Entry{Type: raftport.EntryRemovePeer, Data: []byte(nats1)}
	st.live(aeFrom(nats0, 1).after(0, 0).carrying(removal), lastIndex(1))
	require_True(t, st.n.MembershipChangeInProgress())

	st.live(aeFrom(nats0, 2).after(2, 10).committing(10).withEntry(), catchingUp())
	snapshot := aeFrom(nats0, 2).inLeaderTerm(2).after(2, 5).committing(5).carrying(st.snapshotEntries()...)
	st.catchup(snapshot, tip(2, 5))
	require_False(t, st.n.MembershipChangeInProgress())
}
