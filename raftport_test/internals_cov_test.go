package raftport_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Tests of node internals that only fire on failures (an unreadable log,
// an exhausted storage budget) or that only the reference tests read.
// Each names the catalog feature IDs it covers.

// TestSelectNextLeaderPrefersFurthestPeer covers feature 2659: the
// successor a leader picks is the peer that stored the most of its log,
// never itself, and nobody when no other peer stored anything.
func TestSelectNextLeaderPrefersFurthestPeer(t *testing.T) {
	_, alone, cleanup := initSingleMemRaftNode(t)
	defer cleanup()
	require_Equal(t, alone.SelectNextLeader(), "")

	_, rg, leader := startAdderGroup(t, "SUCCESSOR")
	followers := rg.followers()
	require_Len(t, len(followers), 2)
	live, stopped := followers[0], followers[1]
	stopped.stop()
	for d := int64(1); d <= 5; d++ {
		leader.proposeDelta(d)
	}

	lp := raftport.NewProbe(leader.node())
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

	lp := raftport.NewProbe(leader.node())
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

// TestCatchupFallsBackToFirstEntry covers feature 2731: when the entry a
// follower asks for cannot be read (and is not simply missing), the leader
// stays leader and streams from the first entry of its log instead.
func TestCatchupFallsBackToFirstEntry(t *testing.T) {
	n, p, c := initSingleMemRaftNodeWithCluster(t)
	for i := range 3 {
		processAE(t, p, encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PTerm: uint64(min(i, 1)), PIndex: uint64(i),
			Entries: []*raftport.Entry{{Type: raftport.EntryNormal, Data: []byte{byte(i)}}}}), p.AESub())
	}
	require_Equal(t, p.Replication().PIndex, 3)
	p.SwitchToLeader()
	p.ReplaceWAL(func(w storage.WAL) storage.WAL { return &unreadableAt{WAL: w, bad: 2} })

	stream, sub := chanSubscribe(t, c.client(), "$TEST", 8)
	defer sub.Unsubscribe()
	// The follower holds entry 1 and asks for entry 2, the unreadable one.
	p.CatchupFollower(raftport.ResponseSpec{Term: 1, Index: 1, Peer: nats1, Reply: "$TEST"})

	// Giving up on this follower would have meant stepping down at once.
	require_Equal(t, n.State(), raftport.Leader)
	msg := require_ChanRead(t, stream, 5*time.Second)
	ae, err := raftport.DecodeAppendEntry(msg.Data)
	require_NoError(t, err)
	require_Equal(t, ae.PIndex, 0)
	require_Len(t, len(ae.Entries), 1)
	require_Equal(t, ae.Entries[0].Data[0], 0)
	require_Equal(t, n.State(), raftport.Leader)
}

// TestOutOfResourcesFollowerDoesNotCampaign covers feature 2691: a
// tracked follower whose host is past its storage budget rearms its
// election timer when it fires instead of starting an election.
func TestOutOfResourcesFollowerDoesNotCampaign(t *testing.T) {
	tm := fastTiming()
	net := transport.NewNetwork(transport.NetworkOptions{Seed: 1, NoEcho: true})
	defer net.Close()
	conn, err := net.Dial(raftport.NodeID("S-1"))
	require_NoError(t, err)
	defer conn.Close()
	s, err := raftport.NewServer(raftport.ServerConfig{
		Name: "S-1", Timing: tm, Logger: testLogger(), MaxStorageBytes: 64,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
	})
	require_NoError(t, err)
	defer s.Shutdown()

	cfg := &raftport.RaftConfig{Name: "BUDGET", Store: t.TempDir(), Log: storage.NewMemWAL(), Track: true}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID(), nats0}, true))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	defer func() {
		n.Stop()
		n.WaitForStop()
	}()
	big := []*raftport.Entry{{Type: raftport.EntryNormal, Data: make([]byte, 100)}}
	processAE(t, p, encode(t, raftport.AppendEntrySpec{Leader: nats0, Term: 1, PIndex: 0, Entries: big}), p.AESub())
	require_True(t, p.OutOfResources())

	p.StartRun()
	mark := time.Now()
	// The leader never speaks again, so only a fired election timer can
	// rearm the timer this long after the run loop started.
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if !p.ElectionTimerReset().After(mark.Add(tm.MinElectionTimeout / 2)) {
			return errors.New("election timer has not fired and been rearmed yet")
		}
		return nil
	})
	require_Equal(t, n.State(), raftport.Follower)
	require_Equal(t, n.Term(), 1)
}
