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
	_, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	// A live entry far ahead of the empty log starts a catchup.
	trigger := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, Commit: 10, PTerm: 2, PIndex: 10, Entries: sampleEntries()})
	processAE(t, p, trigger, p.AESub())
	requireCatchup(t, p)
	csub := p.CatchupSub()

	snap := encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 2, LTerm: 2, Commit: 5, PTerm: 2, PIndex: 5, Entries: []*raftport.Entry{
		{Type: raftport.EntrySnapshot, Data: []byte("state at 5")}, p.PeerStateEntry(),
	}})
	processAE(t, p, snap, csub)
	rs := p.Replication()
	require_Equal(t, rs.PIndex, 5)
	require_Equal(t, walMsgs(p), 0)

	processAE(t, p, snap, csub)
	rs = p.Replication()
	require_Equal(t, rs.PIndex, 5)
	require_Equal(t, walMsgs(p), 0)
}
