package raftport_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// The node's refusals, which require_Error matches by message.
var (
	errMembershipChange = errors.New("raft: membership change in progress")
	errRemoveLastNode   = errors.New("raft: cannot remove the last peer")
)

// Entries that change the membership.
func removing(peer string) *raftport.Entry {
	return &raftport.Entry{Type: raftport.EntryRemovePeer, Data: []byte(peer)}
}

func adding(peer string) *raftport.Entry {
	return &raftport.Entry{Type: raftport.EntryAddPeer, Data: []byte(peer)}
}

// addPeers makes the stepped node know the peers as members.
func (st *stepped) addPeers(peers ...string) {
	st.t.Helper()
	for _, peer := range peers {
		require_NoError(st.t, st.p.AddPeer(peer))
	}
}

// changingMembership checks that a membership change is in progress, its
// entry at index.
func changingMembership(index uint64) check {
	return all(
		field("membership change in progress", func(st *stepped) bool { return st.n.MembershipChangeInProgress() }, true),
		counter("membership change index", func(r replicationState) uint64 { return r.MembChangeIndex }, index))
}

func notChangingMembership() check {
	return all(
		field("membership change in progress", func(st *stepped) bool { return st.n.MembershipChangeInProgress() }, false),
		counter("membership change index", func(r replicationState) uint64 { return r.MembChangeIndex }, 0))
}

// plantUncommittedRemovePeer makes the node one of three members, with
// nats1 and nats2, that stored nats1's removal of nats2 without its
// commit: a follower that saw the proposal and nothing after it.
func plantUncommittedRemovePeer(st *stepped) {
	st.t.Helper()
	st.addPeers(nats1, nats2)
	st.live(aeFrom(nats1, 1).after(0, 0).carrying(removing(nats2)), lastIndex(1), healthy(false))
}

// TestNRGUncommittedMembershipChangeOnNewLeader ports test 2702: a new
// leader that inherits an uncommitted membership change refuses another.
func TestNRGUncommittedMembershipChangeOnNewLeader(t *testing.T) {
	st := stepNode(t)
	plantUncommittedRemovePeer(st)

	st.p.SetTerm(2)
	st.p.SwitchToLeader()
	require_Error(t, st.n.ProposeRemovePeer(nats1), errMembershipChange)
}

// leaderLoopInBackground runs the leader loop of the stepped node until
// the node stops, which happens when the test ends.
func (st *stepped) leaderLoopInBackground() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		st.p.RunAsLeader()
	}()
	st.t.Cleanup(func() {
		st.n.Stop()
		wg.Wait()
	})
}

// loneLeader is a stepped node made leader of term, with the reference's
// ten-second quorum checks: its other members never answer, which the
// fast timing would have it step down for before the test is done, while
// the reference timing leaves it leading for the few hundred milliseconds
// the test takes. prepare runs before the node takes office.
func loneLeader(t *testing.T, term uint64, prepare func(*stepped)) *stepped {
	t.Helper()
	st := createRaftClusterWithTiming(t, "R3S", 3, patientQuorumTiming()).stepNode(nodeSetup{})
	prepare(st)
	st.p.SetTerm(term)
	st.p.SwitchToLeader()
	return st
}

// forwardUntilDelivered sends data on subject the way a follower
// forwards, retrying until the request went out and then until the
// network has handed it to the leader's handler. The leader never
// answers a forward it drops, so a timeout is an acceptable outcome.
func (st *stepped) forwardUntilDelivered(subject string, data []byte) {
	st.t.Helper()
	nc := st.c.client()
	within(st.t, 2*time.Second, func() error {
		if _, err := request(nc, subject, data, 100*time.Millisecond); err != nil && !strings.Contains(err.Error(), "no answer within") {
			return err
		}
		return nil
	})
	require_NoError(st.t, st.c.net.WaitIdle(2*time.Second))
}

// requireOnlyMarkerStored proposes a marker entry on the leader and waits
// for it to be stored. Proposals are handled in queue order, so had the
// forwarded proposal been accepted it would be stored first, at before+1;
// finding the marker alone there proves it was dropped.
func (st *stepped) requireOnlyMarkerStored(before uint64) {
	st.t.Helper()
	marker := binary.AppendVarint(nil, 4242)
	require_NoError(st.t, st.n.Propose(marker))
	within(st.t, 2*time.Second, holds("the marker stored", func() bool {
		index, _, _ := st.n.Progress()
		return index > before
	}))
	stored, err := st.p.LoadEntry(before + 1)
	require_NoError(st.t, err)
	require_Len(st.t, len(stored.Entries), 1)
	require_Equal(st.t, stored.Entries[0].Type, raftport.EntryNormal)
	require_Equal(st.t, string(stored.Entries[0].Data), string(marker))
	after, _, _ := st.n.Progress()
	require_Equal(st.t, after, before+1)
}

// TestNRGUncommittedMembershipChangeOnNewLeaderForwardedRemovePeerProposal
// ports test 2704: a new leader with an uncommitted membership change
// drops a peer removal forwarded by a follower.
func TestNRGUncommittedMembershipChangeOnNewLeaderForwardedRemovePeerProposal(t *testing.T) {
	st := loneLeader(t, 2, plantUncommittedRemovePeer)
	st.p.SetLeaderState(true)
	st.leaderLoopInBackground()

	before, _, _ := st.n.Progress()
	require_True(t, st.n.MembershipChangeInProgress())
	st.forwardUntilDelivered(st.p.Subjects().RemovePeer, []byte(nats1))

	st.requireOnlyMarkerStored(before)
	require_True(t, st.n.MembershipChangeInProgress())
}

// TestNRGIgnoreForwardedProposalIfNotCaughtUpLeader ports test 2705: a
// leader that still has its first entry of the term to apply drops
// forwarded proposals.
func TestNRGIgnoreForwardedProposalIfNotCaughtUpLeader(t *testing.T) {
	st := loneLeader(t, 1, func(st *stepped) { st.addPeers(nats1, nats2) })
	st.leaderLoopInBackground()
	// Leader, but with its first entry of the term to apply.
	st.p.SetLeaderState(false)

	before, _, _ := st.n.Progress()
	st.forwardUntilDelivered(st.p.Subjects().Propose, nil)

	st.requireOnlyMarkerStored(before)
}

// TestNRGUncommittedMembershipChangeGetsTruncated ports test 2703: an
// uncommitted membership change stays in progress while its entry stays
// in the log, and is over once the entry is truncated away.
func TestNRGUncommittedMembershipChangeGetsTruncated(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats1, 1)
	st.live(leader.after(0, 0).withEntry())
	st.live(leader.after(1, 1).carrying(adding(nats1)), lastIndex(2), changingMembership(2))

	end := st.state()
	st.p.TruncateWAL(end.PTerm, end.PIndex)
	st.expect(changingMembership(2))

	end = st.state()
	st.p.TruncateWAL(end.PTerm, end.PIndex-1)
	st.expect(notChangingMembership())
}

// Checks of one member's node, for waits over a group.

func hasPeers(want int) func(raftport.RaftNode) error {
	return func(n raftport.RaftNode) error {
		if got := len(n.Peers()); got != want {
			return fmt.Errorf("%d peers, want %d", got, want)
		}
		return nil
	}
}

func hasClusterSize(want int) func(raftport.RaftNode) error {
	return func(n raftport.RaftNode) error {
		if got := n.ClusterSize(); got != want {
			return fmt.Errorf("cluster size %d, want %d", got, want)
		}
		return nil
	}
}

func noMembershipChange(n raftport.RaftNode) error {
	if n.MembershipChangeInProgress() {
		return errors.New("a membership change is still in progress")
	}
	return nil
}

// nodeIs is a wait step over one node: every check passes.
func nodeIs(n raftport.RaftNode, checks ...func(raftport.RaftNode) error) func() error {
	return func() error {
		for _, c := range checks {
			if err := c(n); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestNRGProposeRemovePeer ports test 2700: a peer removal proposed on
// the leader reaches every member.
func TestNRGProposeRemovePeer(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{memory: true})

	require_NoError(t, leader.node().ProposeRemovePeer(rg.nonLeader().node().ID()))
	eventually(t, rg.everyNode(hasPeers(2)))
}

// TestNRGProposeRemovePeerConcurrent ports test 2701: while one removal
// is uncommitted a second is refused, and only the first takes effect.
func TestNRGProposeRemovePeerConcurrent(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{memory: true, timing: patientQuorumTiming()})
	n := leader.node()
	locked, unlock := rg.lockFollowers()
	defer unlock()
	require_Equal(t, len(locked), 2)

	require_NoError(t, n.ProposeRemovePeer(locked[0].node().ID()))
	within(t, 2*time.Second, holds("a membership change in progress", n.MembershipChangeInProgress))
	require_Error(t, n.ProposeRemovePeer(locked[1].node().ID()), errMembershipChange)

	unlock()
	eventually(t, rg.everyNode(hasPeers(2)))
}

// removeWithFollowerBlocked proposes removing peer while the first of the
// two followers is blocked: the change cannot complete for a second, as
// it needs the quorum of the members that remain and not the leader's
// own ack; released, the follower lets it complete.
func removeWithFollowerBlocked(t *testing.T, rg group[*stateAdder], leader raftport.RaftNode, peer func(followers group[*stateAdder]) string) {
	t.Helper()
	followers := rg.followers()
	require_Len(t, len(followers), 2)
	unblock := lockMember(followers[0])
	defer unblock()
	require_NoError(t, leader.ProposeRemovePeer(peer(followers)))

	within(t, 2*time.Second, holds("a membership change in progress", leader.MembershipChangeInProgress))
	staysFor(t, time.Second, "the membership change in progress", leader.MembershipChangeInProgress)

	unblock()
	eventually(t, nodeIs(leader, noMembershipChange))
}

// TestNRGProposeRemovePeerQuorum ports test 2706: a removal needs a quorum
// of the members that remain, so it waits for the blocked follower.
func TestNRGProposeRemovePeerQuorum(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{memory: true, timing: patientQuorumTiming()})
	removeWithFollowerBlocked(t, rg, leader.node(), func(followers group[*stateAdder]) string {
		return followers[1].node().ID()
	})
}

// TestNRGProposeRemovePeerLeader ports test 2707: removing the leader
// needs the remaining followers' quorum, not the leader's own ack; once
// committed the old leader stops and a remaining member leads.
func TestNRGProposeRemovePeerLeader(t *testing.T) {
	_, rg, oldSM := electedAdders(t, groupSpec{memory: true, timing: patientQuorumTiming()})
	old := oldSM.node()
	removeWithFollowerBlocked(t, rg, old, func(group[*stateAdder]) string { return old.ID() })

	// Another member leads.
	eventually(t, holds("a new leader", func() bool {
		l := rg.waitOnLeader()
		return l != nil && l.node().ID() != old.ID()
	}))
	next := rg.waitOnLeader()
	require_NotNil(t, next)
	require_Equal(t, old.State(), raftport.Closed)
	require_NotEqual(t, old.ID(), next.node().ID())
	require_NoError(t, nodeIs(next.node(), hasPeers(2), noMembershipChange)())
}

// removalDone is a wait step: the node lists want peers and no change is
// in progress. The leader drops a peer when it sends the change, so the
// peer count alone can be reached before the change commits.
func removalDone(n raftport.RaftNode, want int) func() error {
	return nodeIs(n, hasPeers(want), noMembershipChange)
}

// TestNRGProposeRemovePeerAll ports test 2708: the followers can be
// removed one by one, but the last member cannot be.
func TestNRGProposeRemovePeerAll(t *testing.T) {
	_, rg, leaderSM := electedAdders(t, groupSpec{memory: true})
	leader := leaderSM.node()
	followers := rg.followers()
	require_Equal(t, len(followers), 2)
	require_Equal(t, len(leader.Peers()), 3)

	for i, f := range followers {
		require_NoError(t, leader.ProposeRemovePeer(f.node().ID()))
		within(t, 2*time.Second, removalDone(leader, 2-i))
	}

	// The leader is the only one left, and cannot be removed.
	left := leader.Peers()
	require_Equal(t, len(left), 1)
	require_Equal(t, left[0].ID, leader.ID())
	require_Error(t, leader.ProposeRemovePeer(leader.ID()), errRemoveLastNode)
}

// TestNRGLeaderResurrectsRemovedPeers ports test 2709: a removed peer
// stays removed across a restart of the leader and of the other follower.
func TestNRGLeaderResurrectsRemovedPeers(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{memory: true})
	followers := rg.followers()
	require_Equal(t, len(followers), 2)
	removed, other := followers[0], followers[1]

	require_NoError(t, leader.node().ProposeRemovePeer(removed.node().ID()))
	within(t, 2*time.Second, removalDone(leader.node(), 2))

	leader.stop()
	other.stop()
	for _, sm := range []*stateAdder{leader, other} {
		sm.restart()
		require_Equal(t, len(leader.node().Peers()), 2)
	}
}

// joinAdders starts count new hosts, each with a new member (a memory WAL)
// of group TEST, and returns the new members.
func joinAdders(c *cluster, count int) group[*stateAdder] {
	c.t.Helper()
	var joined group[*stateAdder]
	for range count {
		joined = append(joined, joinGroup(c, "TEST", memoryStorage, newStateAdder))
	}
	return joined
}

// TestNRGAddPeers ports test 2710: new members joining a group are added
// one after the other until the cluster size counts them all.
func TestNRGAddPeers(t *testing.T) {
	c, _, leader := electedAdders(t, groupSpec{memory: true})
	require_Equal(t, leader.node().ClusterSize(), 3)

	joinAdders(c, 6)
	within(t, time.Second, nodeIs(leader.node(), hasClusterSize(9)))
	require_Equal(t, leader.node().ClusterSize(), 9)
}

// TestNRGDisjointMajorities ports test 2711: with its followers blocked,
// a leader must not commit additions with the new members alone, which
// could let two majorities write two histories.
func TestNRGDisjointMajorities(t *testing.T) {
	c, rg, leaderSM := electedAdders(t, groupSpec{memory: true, timing: patientQuorumTiming()})
	leader := leaderSM.node()
	require_Equal(t, len(rg.followers()), 2)

	// Block both followers, a majority.
	locked, unlock := rg.lockFollowers()
	defer unlock()
	require_Equal(t, len(locked), 2)

	joinAdders(c, 1)
	within(t, time.Second, nodeIs(leader, hasClusterSize(4)))

	// Another addition must wait for the first to commit, which the
	// blocked followers prevent.
	joinAdders(c, 1)
	staysFor(t, time.Second, "cluster size 4 with the change in progress", func() bool {
		return leader.ClusterSize() == 4 && leader.MembershipChangeInProgress()
	})
}

// TestNRGSingleNodeElection ports test 2713: removing the leader twice
// leaves one member, which must lead alone, and grows back to three.
func TestNRGSingleNodeElection(t *testing.T) {
	c, rg := startAdders(t, groupSpec{memory: true})

	for range 2 {
		sm := rg.waitOnLeader()
		require_NotNil(t, sm)
		removed := sm.node()
		require_NoError(t, removed.ProposeRemovePeer(removed.ID()))
		within(t, time.Second, holds("the removed node to stop leading", func() bool { return removed.State() != raftport.Leader }))
		require_False(t, removed.MembershipChangeInProgress())
	}

	// The remaining member leads on its own.
	last := rg.waitOnLeader()
	require_NotNil(t, last)
	require_NoError(t, nodeIs(last.node(), hasPeers(1), hasClusterSize(1), noMembershipChange)())
	last.proposeDeltas(1, 10, 100)
	rg.waitOnTotal(t, 111)

	rg = append(rg, joinAdders(c, 2)...)
	within(t, time.Second, nodeIs(last.node(), hasClusterSize(3)))
	within(t, time.Second, nodeIs(last.node(), noMembershipChange))

	rg.waitOnTotal(t, 111)
	require_NoError(t, nodeIs(last.node(), hasClusterSize(3), noMembershipChange)())
}

// TestNRGRemoveLeaderPeerDeadlockBug ports test 2639: proposing to remove
// the leader itself moves leadership away instead of deadlocking.
func TestNRGRemoveLeaderPeerDeadlockBug(t *testing.T) {
	_, rg, leader := electedAdders(t, groupSpec{memory: true})
	n := leader.node()
	id := n.ID()

	require_NoError(t, n.ProposeRemovePeer(id))
	rg.waitOnLeader()
	eventually(t, holds("the lead to move", func() bool { return n.GroupLeader() != id }))
}

// TestNRGForwardProposalResponse ports test 2657: a proposal sent to the
// group's proposal subject with a reply subject is answered once the
// leader took it, and gets applied.
func TestNRGForwardProposalResponse(t *testing.T) {
	c, rg, _ := electedAdders(t, groupSpec{})
	subject := probeOf(rg.nonLeader().node()).Subjects().Propose

	_, err := request(c.client(), subject, binary.AppendVarint(nil, 123), 5*time.Second)
	require_NoError(t, err)
	rg.waitOnTotal(t, 123)
}

// TestNRGReplayAddPeerKeepsClusterSize ports test 2719: replaying a
// committed EntryAddPeer at restart keeps the cluster size of the peer
// state instead of counting from zero.
func TestNRGReplayAddPeerKeepsClusterSize(t *testing.T) {
	c := createRaftCluster(t, "R3S", 3)
	self := c.servers[0].ID()
	st := c.stepNode(nodeSetup{onDisk: true, peers: []string{self, nats1, nats2}})
	require_Equal(t, st.n.ClusterSize(), 3)

	// A committed EntryAddPeer, which triggered the bug at restart.
	st.live(aeFrom(self, 2).after(0, 0).withEntry())
	st.live(aeFrom(self, 2).after(2, 1).committing(2).carrying(adding(nats1)))

	// With the bug the size is 1: the replayed EntryAddPeer grew an empty
	// peer set to one, and the peers then loaded from the peer state were
	// not counted.
	st.restart()
	require_Equal(t, st.n.ClusterSize(), 3)
	require_Equal(t, st.state().Quorum, 2)
}
