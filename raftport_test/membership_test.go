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

// Node IDs of hosts named "nats-1" and "nats-2", the reference tests'
// other members of a group.
var (
	nats1 = raftport.NodeID("nats-1")
	nats2 = raftport.NodeID("nats-2")
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
	tm := fastTiming()
	tm.LostQuorumInterval = 10 * time.Second
	tm.LostQuorumCheck = 10 * time.Second
	c := createRaftClusterWithTiming(t, "R3S", 3, tm)
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
// leader that has not yet applied its first entry of the term drops
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
