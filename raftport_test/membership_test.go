package raftport_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// errMembershipChange is the node's error for a second membership change
// while one is uncommitted; require_Error matches it by message.
var errMembershipChange = errors.New("raft: membership change in progress")

// plantUncommittedRemovePeer gives a three-member node an uncommitted
// EntryRemovePeer from leader nats1, as a follower that saw the proposal
// but not its commit.
func plantUncommittedRemovePeer(t *testing.T, n raftport.RaftNode, p *raftport.Probe) {
	t.Helper()
	require_NoError(t, p.AddPeer(nats1))
	require_NoError(t, p.AddPeer(nats2))

	aeRemovePeer := encode(t, raftport.AppendEntrySpec{
		Leader: nats1, Term: 1, Commit: 0, PTerm: 0, PIndex: 0,
		Entries: []*raftport.Entry{{Type: raftport.EntryRemovePeer, Data: []byte(nats2)}},
	})
	require_NoError(t, p.ProcessAppendEntry(aeRemovePeer, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 1)
	require_False(t, n.Healthy())
}

// TestNRGUncommittedMembershipChangeOnNewLeader ports test 2702: a new
// leader that inherits an uncommitted membership change refuses another.
func TestNRGUncommittedMembershipChangeOnNewLeader(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	plantUncommittedRemovePeer(t, n, p)

	// Become the new leader.
	p.SetTerm(2)
	p.SwitchToLeader()

	err := n.ProposeRemovePeer(nats1)
	require_Error(t, err, errMembershipChange)
}

// initLoneLeaderCandidate is initSingleMemRaftNodeWithCluster with the
// reference's ten-second quorum checks: these tests run a leader whose
// other members never answer, which the fast harness timing would have
// step down for lost quorum before the test is done, while the reference
// timing leaves it leading for the few hundred milliseconds they take.
func initLoneLeaderCandidate(t *testing.T) (raftport.RaftNode, *raftport.Probe, *cluster) {
	t.Helper()
	c := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming())
	s := c.servers[0]
	cfg := &raftport.RaftConfig{Name: "TEST", Store: t.TempDir(), Log: storage.NewMemWAL()}
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{s.ID()}, true))
	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	return n, p, c
}

// startLeaderLoop runs the leader loop of a node initialized without its
// run loop, and returns a wait for the loop to end once the node stops.
func startLeaderLoop(p *raftport.Probe) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.RunAsLeader()
	}()
	return wg.Wait
}

// forwardUntilDelivered sends data on subject the way a follower
// forwards, retrying until the request went out and then until the
// network has handed it to the leader's handler. The leader never
// answers a forward it drops, so a timeout is an acceptable outcome.
func forwardUntilDelivered(t *testing.T, c *cluster, subject string, data []byte) {
	t.Helper()
	nc := c.client()
	checkFor(t, 2*time.Second, 200*time.Millisecond, func() error {
		_, err := request(nc, subject, data, 100*time.Millisecond)
		if err == nil || strings.Contains(err.Error(), "no answer within") {
			return nil
		}
		return err
	})
	require_NoError(t, c.net.WaitIdle(2*time.Second))
}

// requireOnlyMarkerStored proposes a marker entry on the leader and waits
// for it to be stored. Proposals are handled in queue order, so had the
// forwarded proposal been accepted it would be stored first, at before+1;
// finding the marker alone there proves it was dropped.
func requireOnlyMarkerStored(t *testing.T, n raftport.RaftNode, p *raftport.Probe, before uint64) {
	t.Helper()
	marker := binary.AppendVarint(nil, 4242)
	require_NoError(t, n.Propose(marker))
	checkFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if index, _, _ := n.Progress(); index < before+1 {
			return errors.New("marker proposal not stored yet")
		}
		return nil
	})
	stored, err := p.LoadEntry(before + 1)
	require_NoError(t, err)
	require_Len(t, len(stored.Entries), 1)
	require_Equal(t, stored.Entries[0].Type, raftport.EntryNormal)
	require_Equal(t, string(stored.Entries[0].Data), string(marker))
	after, _, _ := n.Progress()
	require_Equal(t, after, before+1)
}

// TestNRGUncommittedMembershipChangeOnNewLeaderForwardedRemovePeerProposal
// ports test 2704: a new leader with an uncommitted membership change
// drops a peer removal forwarded by a follower.
func TestNRGUncommittedMembershipChangeOnNewLeaderForwardedRemovePeerProposal(t *testing.T) {
	n, p, c := initLoneLeaderCandidate(t)
	defer c.shutdown()

	plantUncommittedRemovePeer(t, n, p)

	// Become the new leader, up to date.
	p.SetTerm(2)
	p.SwitchToLeader()
	p.SetLeaderState(true)
	wait := startLeaderLoop(p)
	defer wait()
	defer n.Stop()

	// Forward a peer removal to the new leader.
	before, _, _ := n.Progress()
	require_True(t, n.MembershipChangeInProgress())
	forwardUntilDelivered(t, c, p.Subjects().RemovePeer, []byte(nats1))

	// The forwarded removal must not have been accepted.
	requireOnlyMarkerStored(t, n, p, before)
	require_True(t, n.MembershipChangeInProgress())
}

// TestNRGIgnoreForwardedProposalIfNotCaughtUpLeader ports test 2705: a
// leader that still has its first entry of the term to apply drops
// forwarded proposals.
func TestNRGIgnoreForwardedProposalIfNotCaughtUpLeader(t *testing.T) {
	n, p, c := initLoneLeaderCandidate(t)
	defer c.shutdown()

	require_NoError(t, p.AddPeer(nats1))
	require_NoError(t, p.AddPeer(nats2))

	p.SetTerm(1)
	p.SwitchToLeader()
	wait := startLeaderLoop(p)
	defer wait()
	defer n.Stop()

	// Leader, but not caught up yet.
	p.SetLeaderState(false)

	// Forward a normal proposal to the new leader.
	before, _, _ := n.Progress()
	forwardUntilDelivered(t, c, p.Subjects().Propose, nil)

	// The forwarded proposal must not have been accepted.
	requireOnlyMarkerStored(t, n, p, before)
}

// errRemoveLastNode is the node's refusal to remove the only member left.
var errRemoveLastNode = errors.New("raft: cannot remove the last peer")

// requireStaysFor checks cond throughout d and fails as soon as it does
// not hold: the reference tests show that something does not happen by
// waiting a while and looking once; polling the whole window is stricter.
func requireStaysFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if !cond() {
			t.Fatalf("%s no longer holds", what)
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// becomesAndStays waits for cond to hold, as a proposal takes effect only
// once the leader loop picked it up, then requires it to keep holding
// for d.
func becomesAndStays(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	checkFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if cond() {
			return nil
		}
		return errors.New(what + " does not hold yet")
	})
	requireStaysFor(t, d, what, cond)
}

// peersOfAll waits until every member of rg lists want peers.
func peersOfAll(t *testing.T, rg smGroup, want int) {
	t.Helper()
	checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
		for _, r := range rg {
			if len(r.node().Peers()) != want {
				return errors.New("has not removed peer")
			}
		}
		return nil
	})
}

// TestNRGUncommittedMembershipChangeGetsTruncated ports test 2703: an
// uncommitted membership change stays in progress while its entry stays
// in the log, and is over once the entry is truncated away.
func TestNRGUncommittedMembershipChangeGetsTruncated(t *testing.T) {
	n, p, cleanup := initSingleMemRaftNode(t)
	defer cleanup()

	aeMsg := encode(t, raftport.AppendEntrySpec{
		Leader: nats1, Term: 1, Commit: 0, PTerm: 0, PIndex: 0, Entries: oneNormalEntry(),
	})
	aeAddPeer := encode(t, raftport.AppendEntrySpec{
		Leader: nats1, Term: 1, Commit: 0, PTerm: 1, PIndex: 1,
		Entries: []*raftport.Entry{{Type: raftport.EntryAddPeer, Data: []byte(nats1)}},
	})

	// Set up a membership change.
	require_NoError(t, p.ProcessAppendEntry(aeMsg, p.AESub()))
	require_NoError(t, p.ProcessAppendEntry(aeAddPeer, p.AESub()))
	require_Equal(t, p.Replication().PIndex, 2)
	require_True(t, n.MembershipChangeInProgress())
	require_Equal(t, p.Replication().MembChangeIndex, 2)

	// Truncating after the change keeps it in progress.
	r := p.Replication()
	p.TruncateWAL(r.PTerm, r.PIndex)
	require_True(t, n.MembershipChangeInProgress())
	require_Equal(t, p.Replication().MembChangeIndex, 2)

	// Truncating the change itself ends it.
	r = p.Replication()
	p.TruncateWAL(r.PTerm, r.PIndex-1)
	require_False(t, n.MembershipChangeInProgress())
	require_Equal(t, p.Replication().MembChangeIndex, 0)
}

// TestNRGProposeRemovePeer ports test 2700: a peer removal proposed on
// the leader reaches every member.
func TestNRGProposeRemovePeer(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)

	peerID := rg.nonLeader().node().ID()
	require_NoError(t, leader.node().ProposeRemovePeer(peerID))

	peersOfAll(t, rg, 2)
}

// TestNRGProposeRemovePeerConcurrent ports test 2701: while one removal
// is uncommitted a second is refused, and only the first takes effect.
func TestNRGProposeRemovePeerConcurrent(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming())
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	n := leader.node()

	locked, unlock := rg.lockFollowers()
	defer unlock()
	require_Equal(t, len(locked), 2)

	// Removing the first follower is accepted.
	require_NoError(t, n.ProposeRemovePeer(locked[0].node().ID()))

	checkFor(t, 2*time.Second, 200*time.Millisecond, func() error {
		if n.MembershipChangeInProgress() {
			return nil
		}
		return errors.New("membership not in progress")
	})

	// Removing the second one is refused.
	err := n.ProposeRemovePeer(locked[1].node().ID())
	require_Error(t, err, errMembershipChange)

	unlock()

	// Only one removal happened.
	peersOfAll(t, rg, 2)
}

// TestNRGProposeRemovePeerQuorum ports test 2706: a removal needs a quorum
// of the members that remain, so it waits for the blocked follower.
func TestNRGProposeRemovePeerQuorum(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming())
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leaderSM := rg.waitOnLeader()
	require_NotNil(t, leaderSM)
	leader := leaderSM.node()
	followers := rg.followers()
	require_True(t, len(followers) == 2)

	// Block follower 0 and remove follower 1.
	unblock := lockMember(followers[0])
	defer unblock()
	require_NoError(t, leader.ProposeRemovePeer(followers[1].node().ID()))

	// No progress can be made.
	becomesAndStays(t, time.Second, "membership change in progress", leader.MembershipChangeInProgress)

	// Once the follower is back the change completes.
	unblock()
	checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
		if leader.MembershipChangeInProgress() {
			return errors.New("membership still in progress")
		}
		return nil
	})
}

// TestNRGProposeRemovePeerLeader ports test 2707: removing the leader
// needs the remaining followers' quorum, not the leader's own ack; once
// committed the old leader stops and a remaining member leads.
func TestNRGProposeRemovePeerLeader(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming())
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leaderSM := rg.waitOnLeader()
	require_NotNil(t, leaderSM)
	leader := leaderSM.node()
	followers := rg.followers()
	leaderID := leader.ID()
	require_True(t, len(followers) == 2)

	// Block follower 0 and remove the leader.
	unblock := lockMember(followers[0])
	defer unblock()
	require_NoError(t, leader.ProposeRemovePeer(leader.ID()))

	// No progress can be made.
	becomesAndStays(t, time.Second, "membership change in progress", leader.MembershipChangeInProgress)

	// Once the follower is back the change completes.
	unblock()
	checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
		if leader.MembershipChangeInProgress() {
			return errors.New("membership still in progress")
		}
		return nil
	})

	// The old leader steps down.
	checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
		newLeader := rg.waitOnLeader()
		if newLeader == nil || newLeader.node().ID() == leaderID {
			return errors.New("leader has not changed yet")
		}
		return nil
	})

	newLeader := rg.waitOnLeader()
	require_NotNil(t, newLeader)
	require_Equal(t, leader.State(), raftport.Closed)
	require_NotEqual(t, leader.ID(), newLeader.node().ID())
	require_Equal(t, len(newLeader.node().Peers()), 2)
	require_False(t, newLeader.node().MembershipChangeInProgress())
}

// TestNRGProposeRemovePeerAll ports test 2708: the followers can be
// removed one by one, but the last member cannot be.
func TestNRGProposeRemovePeerAll(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	followers := rg.followers()
	require_Equal(t, len(followers), 2)

	peers := leader.node().Peers()
	require_Equal(t, len(peers), 3)
	for i, follower := range followers {
		require_NoError(t, leader.node().ProposeRemovePeer(follower.node().ID()))
		// The leader drops the peer when it sends the change, so the peer
		// count alone can be reached before the change commits and the
		// next removal is allowed.
		checkFor(t, 2*time.Second, 10*time.Millisecond, func() error {
			if peers = leader.node().Peers(); len(peers) == 2-i && !leader.node().MembershipChangeInProgress() {
				return nil
			}
			return errors.New("membership still in progress")
		})
	}

	peers = leader.node().Peers()
	leaderID := leader.node().ID()

	// The leader is the only one left, and cannot be removed.
	require_Equal(t, len(peers), 1)
	require_Equal(t, peers[0].ID, leaderID)
	require_Error(t, leader.node().ProposeRemovePeer(leaderID), errRemoveLastNode)
}

// TestNRGLeaderResurrectsRemovedPeers ports test 2709: a removed peer
// stays removed across a restart of the leader and of the other follower.
func TestNRGLeaderResurrectsRemovedPeers(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	followers := rg.followers()
	require_Equal(t, len(followers), 2)

	// Remove one follower.
	require_NoError(t, leader.node().ProposeRemovePeer(followers[0].node().ID()))
	checkFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if peers := leader.node().Peers(); len(peers) == 2 && !leader.node().MembershipChangeInProgress() {
			return nil
		}
		return errors.New("membership still in progress")
	})

	// Stop the leader and restart it; it must not bring the removed peer
	// back.
	leader.stop()
	followers[1].stop()

	leader.restart()
	require_Equal(t, len(leader.node().Peers()), 2)

	followers[1].restart()
	require_Equal(t, len(leader.node().Peers()), 2)
}

// TestNRGAddPeers ports test 2710: new members joining a group are added
// one after the other until the cluster size counts them all.
func TestNRGAddPeers(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)

	require_Equal(t, leader.node().ClusterSize(), 3)

	for range 6 {
		rg = append(rg, c.addMemRaftNode("TEST", newStateAdder))
	}

	checkFor(t, time.Second, 10*time.Millisecond, func() error {
		if leader.node().ClusterSize() != 9 {
			return errors.New("node additions still in progress")
		}
		return nil
	})

	require_Equal(t, leader.node().ClusterSize(), 9)
}

// TestNRGDisjointMajorities ports test 2711: with its followers blocked,
// a leader must not commit additions with the new members alone, which
// could let two majorities write two histories.
func TestNRGDisjointMajorities(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming())
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	followers := rg.followers()
	require_Equal(t, len(followers), 2)

	// Block both followers, a majority.
	locked, unlock := rg.lockFollowers()
	defer unlock()
	require_Equal(t, len(locked), 2)

	// Add one member: cluster size 4.
	c.addMemRaftNode("TEST", newStateAdder)

	checkFor(t, time.Second, 10*time.Millisecond, func() error {
		if leader.node().ClusterSize() != 4 {
			return errors.New("node addition still in progress")
		}
		return nil
	})

	// Another addition must wait for the first to commit, which the
	// blocked followers prevent.
	c.addMemRaftNode("TEST", newStateAdder)

	requireStaysFor(t, time.Second, "cluster size 4 with the change in progress", func() bool {
		return leader.node().ClusterSize() == 4 && leader.node().MembershipChangeInProgress()
	})
}

// TestNRGSingleNodeElection ports test 2713: removing the leader twice
// leaves one member, which must lead alone, and grows back to three.
func TestNRGSingleNodeElection(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)

	// Remove the group leader, twice.
	for range 2 {
		sm := rg.waitOnLeader()
		require_NotNil(t, sm)
		leader := sm.node()
		require_NoError(t, leader.ProposeRemovePeer(leader.ID()))
		checkFor(t, time.Second, 10*time.Millisecond, func() error {
			if leader.State() == raftport.Leader {
				return errors.New("removed node is still leader")
			}
			return nil
		})
		require_False(t, leader.MembershipChangeInProgress())
	}

	// The remaining member leads on its own.
	newLeader := rg.waitOnLeader()
	require_NotNil(t, newLeader)
	require_Equal(t, len(newLeader.node().Peers()), 1)
	require_Equal(t, newLeader.node().ClusterSize(), 1)
	require_False(t, newLeader.node().MembershipChangeInProgress())

	adder := newLeader.(*stateAdder)
	adder.proposeDelta(1)
	adder.proposeDelta(10)
	adder.proposeDelta(100)

	rg.waitOnTotal(t, 111)

	// Add two members back.
	rg = append(rg, c.addMemRaftNode("TEST", newStateAdder))
	rg = append(rg, c.addMemRaftNode("TEST", newStateAdder))

	checkFor(t, time.Second, 10*time.Millisecond, func() error {
		if newLeader.node().ClusterSize() != 3 {
			return errors.New("node additions still in progress")
		}
		return nil
	})
	checkFor(t, time.Second, 10*time.Millisecond, func() error {
		if newLeader.node().MembershipChangeInProgress() {
			return errors.New("membership still in progress")
		}
		return nil
	})

	rg.waitOnTotal(t, 111)
	require_Equal(t, newLeader.node().ClusterSize(), 3)
	require_False(t, newLeader.node().MembershipChangeInProgress())
}

// TestNRGRemoveLeaderPeerDeadlockBug ports test 2639: proposing to remove
// the leader itself moves leadership away instead of deadlocking.
func TestNRGRemoveLeaderPeerDeadlockBug(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	rg := c.createMemRaftGroup("TEST", 3, newStateAdder)
	sm := rg.waitOnLeader()
	require_NotNil(t, sm)

	n := sm.node()
	leader := n.ID()

	require_NoError(t, n.ProposeRemovePeer(leader))
	rg.waitOnLeader()

	checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
		if n.GroupLeader() != leader {
			return nil
		}
		return errors.New("leader has not moved")
	})
}

// TestNRGForwardProposalResponse ports test 2657: a proposal sent to the
// group's proposal subject with a reply subject is answered once the
// leader took it, and gets applied.
func TestNRGForwardProposalResponse(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()

	nc := c.client()

	rg := c.createRaftGroup("TEST", 3, newStateAdder)
	require_NotNil(t, rg.waitOnLeader())

	psubj := raftport.NewProbe(rg.nonLeader().node()).Subjects().Propose

	_, err := request(nc, psubj, binary.AppendVarint(nil, 123), 5*time.Second)
	require_NoError(t, err)

	rg.waitOnTotal(t, 123)
}

// TestNRGReplayAddPeerKeepsClusterSize ports test 2719: replaying a
// committed EntryAddPeer at restart keeps the cluster size of the peer
// state instead of counting from zero.
func TestNRGReplayAddPeerKeepsClusterSize(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	defer c.shutdown()
	s := c.servers[0]

	walDir := t.TempDir()
	storeDir := t.TempDir()
	cfg := &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: openFileWAL(t, walDir)}

	// Seed the peer state of a 3-member group.
	self := s.ID()
	require_NoError(t, s.BootstrapRaftNode(cfg, []string{self, nats1, nats2}, true))

	n, p, err := raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)
	require_Equal(t, n.ClusterSize(), 3)

	// Store and commit a normal entry and an EntryAddPeer; the latter
	// triggered the bug at restart.
	aeMsg1 := encode(t, raftport.AppendEntrySpec{
		Leader: self, Term: 2, Commit: 0, PTerm: 0, PIndex: 0, Entries: oneNormalEntry(),
	})
	aeMsg2 := encode(t, raftport.AppendEntrySpec{
		Leader: self, Term: 2, Commit: 2, PTerm: 2, PIndex: 1,
		Entries: []*raftport.Entry{{Type: raftport.EntryAddPeer, Data: []byte(nats1)}},
	})
	require_NoError(t, p.ProcessAppendEntry(aeMsg1, p.AESub()))
	require_NoError(t, p.ProcessAppendEntry(aeMsg2, p.AESub()))

	// Restart from disk, replaying both entries.
	n.Stop()
	n.WaitForStop()

	cfg = &raftport.RaftConfig{Name: "TEST", Store: storeDir, Log: openFileWAL(t, walDir)}
	n, p, err = raftport.InitRaftNode(s, globalAccountName, cfg)
	require_NoError(t, err)

	// With the bug the size is 1: the replayed EntryAddPeer grew an empty
	// peer set to one, and the peers then loaded from the peer state were
	// not counted.
	require_Equal(t, n.ClusterSize(), 3)
	require_Equal(t, p.Replication().Quorum, 2)

	n.Stop()
	n.WaitForStop()
}
