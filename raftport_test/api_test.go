package raftport_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// Tests of RaftNode accessors and leader-only calls that the ported
// reference tests never call. Each names the catalog feature IDs it
// covers.

var errNotLeaderText = errors.New("raft: not leader")

// startAdderGroup runs a 3-member memory group of state adders and waits
// for an up-to-date leader.
func startAdderGroup(t *testing.T, name string) (*cluster, group[*stateAdder], *stateAdder) {
	t.Helper()
	c := createRaftCluster(t, "R3S", 3)
	rg := placeGroup(c, name, 3, memoryStorage, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	within(t, 5*time.Second, holds("an up-to-date leader", leader.node().Leader))
	return c, rg, leader
}

// TestEntryTypeStringNames covers feature 2712: every entry type has its
// reference name, and an unknown one reports its number.
func TestEntryTypeStringNames(t *testing.T) {
	want := map[raftport.EntryType]string{
		raftport.EntryNormal:         "Normal",
		raftport.EntryOldSnapshot:    "OldSnapshot",
		raftport.EntryPeerState:      "PeerState",
		raftport.EntryAddPeer:        "AddPeer",
		raftport.EntryRemovePeer:     "RemovePeer",
		raftport.EntryLeaderTransfer: "LeaderTransfer",
		raftport.EntrySnapshot:       "Snapshot",
	}
	for et, name := range want {
		require_Equal(t, et.String(), name)
	}
	require_Equal(t, raftport.EntryType(200).String(), "Unknown [200]")
}

// ceKeeper is a state adder that hands every committed entry to the test
// instead of dropping it, so the test can return it to the pool itself.
type ceKeeper struct {
	*stateAdder
	ces chan *raftport.CommittedEntry
}

func (k *ceKeeper) applyEntry(ce *raftport.CommittedEntry) {
	k.stateAdder.applyEntry(ce)
	if ce == nil {
		return
	}
	select {
	case k.ces <- ce:
	default:
	}
}

// TestCommittedEntryReturnToPoolClears covers feature 2706: a committed
// entry handed back to the pool forgets its index and entries, and a nil
// one is ignored.
func TestCommittedEntryReturnToPoolClears(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	keepers := make(chan *ceKeeper, 3)
	rg := placeGroup(c, "POOL", 3, memoryStorage, func(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) *ceKeeper {
		k := &ceKeeper{stateAdder: newStateAdder(c, s, cfg, n), ces: make(chan *raftport.CommittedEntry, 64)}
		keepers <- k
		return k
	})
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	leader.proposeDelta(7)

	k := <-keepers
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if got := k.total(); got != 7 {
			return fmt.Errorf("total is %d, want 7", got)
		}
		return nil
	})
	var ce *raftport.CommittedEntry
	// The first committed entries may carry only peer state; find ours.
	for ce == nil {
		got := require_ChanRead(t, k.ces, 5*time.Second)
		for _, e := range got.Entries {
			if e.Type == raftport.EntryNormal {
				ce = got
			}
		}
	}
	require_True(t, ce.Index > 0)
	ce.ReturnToPool()
	require_Equal(t, ce.Index, 0)
	require_Len(t, len(ce.Entries), 0)
	require_True(t, ce.Entries == nil)

	var none *raftport.CommittedEntry
	none.ReturnToPool()
}

// TestGroupAndCreatedFixedAtStart covers features 2670 and 2678: every
// member reports the group it was started for and the time it was created.
func TestGroupAndCreatedFixedAtStart(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	before := time.Now()
	rg := placeGroup(c, "NAMED", 3, memoryStorage, newStateAdder)
	after := time.Now()
	for _, sm := range rg {
		n := sm.node()
		require_Equal(t, n.Group(), "NAMED")
		created := n.Created()
		require_False(t, created.Before(before))
		require_False(t, created.After(after))
	}
}

// TestLeaderAccessorsFollowLeadership covers features 2649, 2656 and
// 2658: a node that never saw a leader is leaderless with no previous
// leader and no leader-since time; once a group elects, every member has a
// leader and a previous leader, and only the leader has a leader-since
// time, which it drops on stepping down.
func TestLeaderAccessorsFollowLeadership(t *testing.T) {
	fresh := stepNode(t).n
	require_True(t, fresh.LeaderSince() == nil)
	require_False(t, fresh.HadPreviousLeader())
	require_True(t, fresh.Leaderless())

	start := time.Now()
	_, rg, leader := startAdderGroup(t, "LEADERS")
	since := leader.node().LeaderSince()
	require_True(t, since != nil)
	require_False(t, since.Before(start))
	require_False(t, since.After(time.Now()))
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, sm := range rg {
			n := sm.node()
			if n.Leaderless() || !n.HadPreviousLeader() {
				return fmt.Errorf("%s has not seen the leader yet", sm.server().Name())
			}
		}
		return nil
	})
	for _, f := range rg.followers() {
		require_True(t, f.node().LeaderSince() == nil)
	}

	old := leader.node()
	require_NoError(t, old.StepDown())
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if old.LeaderSince() != nil {
			return errors.New("old leader still reports a leader-since time")
		}
		return nil
	})
	require_True(t, old.HadPreviousLeader())
}

// TestProposeMultiCommitsEveryEntry covers feature 2620: the leader's
// batch of entries is committed and applied everywhere; a follower may not
// propose a batch.
func TestProposeMultiCommitsEveryEntry(t *testing.T) {
	_, rg, leader := startAdderGroup(t, "MULTI")
	var batch []*raftport.Entry
	for _, d := range []int64{1, 2, 3} {
		batch = append(batch, &raftport.Entry{Type: raftport.EntryNormal, Data: binary.AppendVarint(nil, d)})
	}
	require_NoError(t, leader.node().ProposeMulti(batch))
	rg.waitOnTotal(t, 6)

	follower := rg.nonLeader()
	err := follower.node().ProposeMulti([]*raftport.Entry{{Type: raftport.EntryNormal, Data: binary.AppendVarint(nil, 100)}})
	require_Error(t, err, errNotLeaderText)
}

// TestAdjustClusterSizeReplicates covers feature 2627: the leader's new
// size reaches the followers through the replicated peer state, sizes
// below two are raised to two, and followers may not adjust.
func TestAdjustClusterSizeReplicates(t *testing.T) {
	_, rg, leader := startAdderGroup(t, "ADJUST")
	require_NoError(t, leader.node().AdjustClusterSize(5))
	require_Equal(t, leader.node().ClusterSize(), 5)
	waitClusterSize(t, rg, 5)

	require_NoError(t, leader.node().AdjustClusterSize(1))
	require_Equal(t, leader.node().ClusterSize(), 2)
	waitClusterSize(t, rg, 2)

	require_Error(t, rg.nonLeader().node().AdjustClusterSize(3), errNotLeaderText)
}

func waitClusterSize(t *testing.T, rg group[*stateAdder], want int) {
	t.Helper()
	within(t, 5*time.Second, rg.everyNode(hasClusterSize(want)))
}

// peerIDs lists the IDs a node reports as peers, sorted.
func peerIDs(n raftport.RaftNode) []string {
	var ids []string
	for _, p := range n.Peers() {
		ids = append(ids, p.ID)
	}
	return slices.Sorted(slices.Values(ids))
}

// TestProposeKnownPeersReplicates covers features 2672 and 2674: the
// leader's new peer list becomes its own peer set and cluster size and
// reaches the followers; a follower's proposal changes nothing.
func TestProposeKnownPeersReplicates(t *testing.T) {
	_, rg, leader := startAdderGroup(t, "KNOWN")
	follower := rg.nonLeader()
	before := peerIDs(follower.node())
	follower.node().ProposeKnownPeers([]string{follower.server().ID()})
	require_Equal(t, follower.node().ClusterSize(), 3)
	require_Equal(t, fmt.Sprint(peerIDs(follower.node())), fmt.Sprint(before))

	extra := raftport.NodeID("S-9")
	peers := append(serverPeerNames([]*raftport.Server{rg[0].server(), rg[1].server(), rg[2].server()}), extra)
	leader.node().ProposeKnownPeers(peers)
	require_Equal(t, leader.node().ClusterSize(), 4)
	require_True(t, slices.Contains(peerIDs(leader.node()), extra))
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, sm := range rg {
			n := sm.node()
			if n.ClusterSize() != 4 || !slices.Contains(peerIDs(n), extra) {
				return fmt.Errorf("%s has not adopted the new peers: size %d, peers %v", sm.server().Name(), n.ClusterSize(), peerIDs(n))
			}
		}
		return nil
	})
}

// TestUpdateKnownPeersIsLocal covers features 2673 and 2674: a node takes
// the given list as its peer set and cluster size without telling anyone.
func TestUpdateKnownPeersIsLocal(t *testing.T) {
	st := stepNode(t)
	n, p := st.n, st.p
	self := p.KnownPeers()
	require_Len(t, len(self), 1)
	a, b := raftport.NodeID("S-7"), raftport.NodeID("S-8")
	n.UpdateKnownPeers([]string{self[0], a, b})
	require_Equal(t, n.ClusterSize(), 3)
	known := p.KnownPeers()
	slices.Sort(known)
	want := []string{self[0], a, b}
	slices.Sort(want)
	require_Equal(t, fmt.Sprint(known), fmt.Sprint(want))
	// Nothing was proposed: the log is still empty.
	require_Equal(t, p.WALState().Entries, 0)
}

// TestNeedSnapshotUntilOneIsTaken covers feature 2644: a node asks for a
// snapshot once it applied more than one entry, and stops asking once one
// is installed.
func TestNeedSnapshotUntilOneIsTaken(t *testing.T) {
	require_False(t, stepNode(t).n.NeedSnapshot())

	_, rg, leader := startAdderGroup(t, "NEEDSNAP")
	leader.proposeDelta(1)
	leader.proposeDelta(2)
	rg.waitOnTotal(t, 3)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if !leader.node().NeedSnapshot() {
			return errors.New("leader does not ask for a snapshot yet")
		}
		return nil
	})
	leader.snapshot(t)
	require_False(t, leader.node().NeedSnapshot())
}

// TestFollowerRemovePeerReachesLeader covers feature 2720: a follower's
// ProposeRemovePeer is forwarded to the leader, which proposes the removal
// so that the whole group drops the peer.
func TestFollowerRemovePeerReachesLeader(t *testing.T) {
	_, rg, leader := startAdderGroup(t, "FWDREMOVE")
	followers := rg.followers()
	require_Len(t, len(followers), 2)
	asker, gone := followers[0], followers[1].server().ID()

	require_NoError(t, asker.node().ProposeRemovePeer(gone))
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, sm := range []*stateAdder{leader, asker} {
			n := sm.node()
			if slices.Contains(peerIDs(n), gone) || n.ClusterSize() != 2 {
				return fmt.Errorf("%s still counts %s: size %d, peers %v", sm.server().Name(), gone, n.ClusterSize(), peerIDs(n))
			}
		}
		if leader.node().MembershipChangeInProgress() {
			return errors.New("the removal has not committed on the leader")
		}
		return nil
	})
}
