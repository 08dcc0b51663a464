package raftport_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// Tests of node internals that only fire on failures (an unreadable log,
// an exhausted storage budget) or that only the reference tests read.
// Each names the catalog feature IDs it covers.

// TestSelectNextLeaderPrefersFurthestPeer covers feature 2659: the
// successor a leader picks is the peer that stored the most of its log,
// never itself, and nobody when no other peer stored anything.
func TestSelectNextLeaderPrefersFurthestPeer(t *testing.T) {
	require_Equal(t, stepNode(t).p.SelectNextLeader(), "")

	_, rg, leader := startAdderGroup(t, "SUCCESSOR")
	followers := rg.followers()
	require_Len(t, len(followers), 2)
	live, stopped := followers[0], followers[1]
	stopped.stop()
	for d := int64(1); d <= 5; d++ {
		leader.proposeDelta(d)
	}

	lp := probeOf(leader.node())
	liveID, stoppedID := live.server().ID(), stopped.server().ID()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		views := lp.PeerViews()
		if views[liveID].LastIndex <= views[stoppedID].LastIndex {
			return fmt.Errorf("live follower at %d, stopped one at %d", views[liveID].LastIndex, views[stoppedID].LastIndex)
		}
		return nil
	})
	require_Equal(t, lp.SelectNextLeader(), liveID)
}

// TestCurrentPeerStateReportsMembership covers feature 2766: the peer
// state a member would send lists every member and the group size, and
// follows a size change.
func TestCurrentPeerStateReportsMembership(t *testing.T) {
	_, rg, leader := startAdderGroup(t, "PEERSTATE")
	want := serverPeerNames([]*raftport.Server{rg[0].server(), rg[1].server(), rg[2].server()})
	slices.Sort(want)

	lp := probeOf(leader.node())
	ps := lp.CurrentPeerState()
	slices.Sort(ps.KnownPeers)
	require_Equal(t, fmt.Sprint(ps.KnownPeers), fmt.Sprint(want))
	require_Equal(t, ps.ClusterSize, 3)

	require_NoError(t, leader.node().AdjustClusterSize(5))
	require_Equal(t, lp.CurrentPeerState().ClusterSize, 5)
}

// unreadableAt is a log whose entry at one index cannot be read back.
type unreadableAt struct {
	storage.WAL
	bad uint64
}

func (w *unreadableAt) Load(index uint64) (uint64, []byte, error) {
	if index == w.bad {
		return 0, nil, storage.ErrCorrupt
	}
	return w.WAL.Load(index)
}

// TestE2ECatchupFallsBackToFirstEntry covers feature 2731: when the entry a
// follower asks for cannot be read (and is not simply missing), the leader
// stays leader and streams from the first entry of its log instead.
func TestE2ECatchupFallsBackToFirstEntry(t *testing.T) {
	st := stepNode(t)
	for i := range uint64(3) {
		st.live(aeFrom(nats0, 1).after(min(i, 1), i).carrying(&raftport.Entry{Type: raftport.EntryNormal, Data: []byte{byte(i)}}))
	}
	st.expect(lastIndex(3))
	st.p.SwitchToLeader()
	st.p.ReplaceWAL(func(w storage.WAL) storage.WAL { return &unreadableAt{WAL: w, bad: 2} })

	stream := st.c.watch("$TEST", 8)
	// The follower holds entry 1 and asks for entry 2, the unreadable one.
	st.p.CatchupFollower(ackSpec{Term: 1, Index: 1, Peer: nats1, Reply: "$TEST"})

	// Giving up on this follower would have meant stepping down at once.
	st.expect(inState(raftport.Leader))
	ae := decodeAE(t, require_ChanRead(t, stream, 5*time.Second))
	require_Equal(t, ae.PIndex, 0)
	require_Len(t, len(ae.Entries), 1)
	require_Equal(t, ae.Entries[0].Data[0], 0)
	st.expect(inState(raftport.Leader))
}

// TestOutOfResourcesFollowerDoesNotCampaign covers feature 2691: a
// tracked follower whose host is past its storage budget rearms its
// election timer when it fires instead of starting an election.
func TestOutOfResourcesFollowerDoesNotCampaign(t *testing.T) {
	c, s := budgetHost(t)
	st := c.stepNodeOn(s, nodeSetup{group: "BUDGET", peers: []string{s.ID(), nats0}, track: true})
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, 100)}
	st.live(aeFrom(nats0, 1).carrying(big))
	require_True(t, st.p.OutOfResources())

	st.p.StartRun()
	mark := time.Now()
	// The leader never speaks again, so only a fired election timer can
	// rearm the timer this long after the run loop started.
	within(t, 5*time.Second, holds("the election timer fired and rearmed", func() bool {
		return st.p.ElectionTimerReset().After(mark.Add(c.timing.MinElectionTimeout / 2))
	}))
	st.expect(inState(raftport.Follower), inTerm(1))
}
