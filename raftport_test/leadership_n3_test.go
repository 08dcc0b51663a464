package raftport_test

// Ported reference tests of leadership changes in running groups:
// transfers, stepdowns on conflicting leaders, and how vote requests from
// stale or isolated candidates move terms and election timers.

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// transfersTo reports whether ae is the leader transfer to peer.
func transfersTo(ae aeSpec, peer string) bool {
	return len(ae.Entries) == 1 && ae.Entries[0].Type == raftport.EntryLeaderTransfer && string(ae.Entries[0].Data) == peer
}

// TestNRGLeaderTransfer ports test 2625: StepDown with a preferred peer
// hands leadership to that peer with an EntryLeaderTransfer naming it.
func TestNRGLeaderTransfer(t *testing.T) {
	c, rg := startAdders(t, groupSpec{memory: true, timing: steadyTiming()})
	leader := campaignAndWaitOnLeader(t, rg)
	lp := probeOf(leader.node())
	aes := c.watch(lp.AppendSubject(), 4096)
	preferred := rg.nonLeader().node().ID()

	// A leader hands over only to a peer it heard from within three
	// heartbeats (the reference's health rule). Leadership is reported once
	// a quorum stored the first entry, possibly before the preferred peer
	// answered, so wait until the leader has heard from it lately.
	within(t, 5*time.Second, holds("the leader to hear from the preferred peer", func() bool {
		seen := lp.PeerViews()[preferred].LastSeen
		return !seen.IsZero() && time.Since(seen) <= steadyTiming().HeartbeatInterval
	}))
	require_NoError(t, leader.node().StepDown(preferred))

	// StepDown returns before the old leader has handed over, so the
	// first leader other than the old one is the one that must be the
	// preferred peer.
	next := rg.waitOnNewLeader(leader)
	require_NotNil(t, next)
	require_Equal(t, next.node().ID(), preferred)

	// The handover was an EntryLeaderTransfer naming it.
	within(t, time.Second, func() error {
		select {
		case msg := <-aes:
			if transfersTo(decodeAE(t, msg), preferred) {
				return nil
			}
			return errors.New("expected EntryLeaderTransfer")
		case <-time.After(time.Second):
			return errors.New("no append entry within 1s")
		}
	})
}

// TestNRGStepDownOnSameTermDoesntClearVote ports test 2627: a leader
// ignores an append entry of an older term from another leader, and steps
// down on one of its own term without clearing its vote.
func TestNRGStepDownOnSameTermDoesntClearVote(t *testing.T) {
	c, rg, leader := electedAdders(t, groupSpec{})
	lp := probeOf(leader.node())
	impostor := rg.nonLeader().node()
	// The lead change that made it leader.
	require_ChanRead(t, leader.lch, time.Second)

	// Replay the leader's first append entry as if another member sent it,
	// with the answers going to that member.
	nc := c.client()
	aes, sub := chanSubscribe(t, nc, lp.AppendSubject(), 1)
	msg := require_ChanRead(t, aes, time.Second)
	require_NoError(t, sub.Unsubscribe())
	forged := aeDraft(decodeAE(t, msg))
	forged.Leader = impostor.ID()
	resend := func(term uint64) {
		t.Helper()
		forged.Term = term
		require_NoError(t, nc.Publish(msg.Subject, probeOf(impostor).Subjects().AppendResp, forged.wire(t).Bytes()))
	}

	// Of an old term, the impostor is ignored.
	resend(lp.Replication().Term - 1)
	require_NoChanRead(t, leader.lch, time.Second)

	// Of the leader's own term, it steps down, but keeps its vote.
	resend(lp.Replication().Term)
	require_ChanRead(t, leader.lch, time.Second)
	require_NotEqual(t, lp.Replication().Vote, "")
}

// TestNRGUnsuccessfulVoteRequestDoesntResetElectionTimer ports test 2628:
// a vote request from a stale candidate, which nobody grants, leaves the
// election timers of leader and followers alone.
func TestNRGUnsuccessfulVoteRequestDoesntResetElectionTimer(t *testing.T) {
	tm := slowElectionTiming(10 * time.Second)
	c, rg := startAdders(t, groupSpec{timing: tm})
	// The election timer is long: kick one node into campaigning.
	leaderSM := campaignAndWaitOnLeader(t, rg)
	followerNode := rg.nonLeader().node()
	leader, follower := probeOf(leaderSM.node()), probeOf(followerNode)

	// One entry, so that no heartbeat is due for the rest of the test.
	leaderSM.proposeDelta(1)
	rg.waitOnTotal(t, 1)

	nc := c.client()
	inbox := nc.NewInbox()
	answers, sub := chanSubscribe(t, nc, inbox, 3)
	defer sub.Unsubscribe()

	// With every node locked, so that none is mid-step: restart both
	// timers, note when, and build a vote request that is obviously
	// behind.
	timers := func() string {
		return fmt.Sprint(leader.ElectionTimerResetLocked(), follower.ElectionTimerResetLocked())
	}
	unlock := rg.locked()
	leader.ResetElectLocked(tm.MaxElectionTimeout)
	follower.ResetElectLocked(tm.MaxElectionTimeout)
	before := timers()
	term := follower.ReplicationLocked().Term
	stale := askVote(followerNode.ID(), term-1, term-1, 0)
	unlock()

	require_NoError(t, nc.Publish(leader.Subjects().Vote, inbox, codec.EncodeVoteRequest(stale)))
	for range 3 {
		require_ChanRead(t, answers, time.Second)
	}

	// Neither the leader nor the follower restarted its election timer.
	unlock = rg.locked()
	after := timers()
	unlock()
	require_Equal(t, after, before)
}

// TestNRGAssumeHighTermAfterCandidateIsolation ports test 2631: a
// candidate back from isolation with a much higher term moves everyone to
// that term, and the group carries on without leaving it in candidacy.
func TestNRGAssumeHighTermAfterCandidateIsolation(t *testing.T) {
	_, rg, _ := electedAdders(t, groupSpec{})

	// A follower's term well up and candidate, as after a long isolation.
	isolated := probeOf(rg.nonLeader().node())
	isolated.Lock()
	isolated.SetTermLocked(isolated.ReplicationLocked().Term + 100)
	isolated.SwitchStateLocked(raftport.Candidate)
	high := isolated.ReplicationLocked().Term
	isolated.Unlock()
	isolated.RequestVote()

	// The vote request moves everyone up to the candidate's term, whether
	// or not they grant the vote.
	atLeast := func(term uint64) func(raftport.RaftNode) error {
		return func(n raftport.RaftNode) error {
			if n.Term() < term {
				return errNoNewTermYet
			}
			return nil
		}
	}
	within(t, 2*time.Second, rg.everyNode(atLeast(high)))
	require_NoError(t, rg.everyNode(inTermOf(high))())

	// A proposal from the leader brings any candidate back to follower,
	// and no one goes below the candidate's term.
	leader := rg.waitOnLeader()
	require_NotNil(t, leader)
	leader.proposeDelta(1)
	rg.waitOnTotal(t, 1)
	require_NoError(t, rg.everyNode(func(n raftport.RaftNode) error {
		if n.State() == raftport.Candidate {
			return errors.New("still a candidate")
		}
		return atLeast(high)(n)
	})())
}

// TestNRGCandidateDontStepdownDueToLeaderOfPreviousTerm ports test 2638:
// a candidate whose term is ahead does not step down for a heartbeat of a
// leader of an older term. The reference reads the heartbeat off the wire
// and locks the group, racing the candidate's next election; here the
// network holds all traffic and the test delivers it up to that heartbeat
// and the candidate's refusal, so the candidate is looked at exactly
// after handling the heartbeat and before any vote reaches it.
func TestNRGCandidateDontStepdownDueToLeaderOfPreviousTerm(t *testing.T) {
	c, rg := startAdders(t, groupSpec{timing: slowElectionTiming(time.Second)})
	// The election timer is long: kick one node into campaigning rather
	// than wait out the first timeout, as test 2628 does.
	leaderSM := campaignAndWaitOnLeader(t, rg)
	leader := probeOf(leaderSM.node())

	// Let the election settle: once everyone knows the leader's first
	// entry is committed, the heartbeat announcing it has gone by and no
	// message of the current term is still on its way.
	within(t, 5*time.Second, rg.everyNode(func(n raftport.RaftNode) error {
		if probeOf(n).Replication().Commit != leader.Replication().PIndex {
			return errors.New("the leader's first entry is not known committed here")
		}
		return nil
	}))

	const (
		candidatePterm  uint64 = 50
		candidatePindex uint64 = 70
		candidateTerm   uint64 = 100
	)

	// From here on the network holds all traffic and the test delivers it.
	candidateNode := rg.nonLeader().node()
	candidate := probeOf(candidateNode)
	asubj, leaderID, candidateID := leader.AppendSubject(), leaderSM.node().ID(), candidateNode.ID()
	c.net.Hold()
	defer c.net.Release()

	// The leader's term falls behind the candidate's to come.
	leader.Lock()
	leader.SetLogPositionLocked(candidatePterm, candidatePterm, candidatePindex, leader.ReplicationLocked().Commit)
	leader.Unlock()

	// Its next heartbeat, of the old term, waits on the wire for the
	// candidate. It must be published before the candidate's vote request:
	// a leader that got the request first would step down for its term
	// and never send the heartbeat this test is about.
	var heartbeat transport.Message
	within(t, 5*time.Second, holds("a heartbeat for the candidate", func() bool {
		for _, m := range c.net.Pending() {
			if m.Subject != asubj || m.From != leaderID || m.To != candidateID {
				continue
			}
			if ae, err := codec.DecodeAppendEntry(m.Data); err == nil && ae.Term == candidatePterm {
				heartbeat = m
				return true
			}
		}
		return false
	}))

	// A candidate that received entries as a follower of a previous term.
	candidate.Lock()
	candidate.SwitchStateLocked(raftport.Candidate)
	candidate.SetLogPositionLocked(candidateTerm, candidatePterm, candidatePindex, candidate.ReplicationLocked().Commit)
	candidate.Unlock()

	// Deliver traffic, in publish order, up to that heartbeat; the
	// candidate has handled it once its refusal is on the wire.
	for delivered := false; !delivered; {
		m, ok := c.net.DeliverNext()
		require_True(t, ok)
		delivered = m.Subject == heartbeat.Subject && m.To == candidateID && bytes.Equal(m.Data, heartbeat.Data)
	}
	within(t, 5*time.Second, holds("the candidate's answer to the heartbeat", func() bool {
		for _, m := range c.net.Pending() {
			if m.From == candidateID && m.Subject == heartbeat.Reply {
				return true
			}
		}
		return false
	}))

	// Stop the nodes from progressing to check their state.
	unlock := rg.locked()
	defer unlock()

	// The heartbeat came from the leader before the candidate's answer
	// moved its term; the candidate has not stepped down and its term is
	// still ahead.
	ae, err := codec.DecodeAppendEntry(heartbeat.Data)
	require_NoError(t, err)
	require_Equal(t, ae.Leader, leaderID)
	require_Equal(t, ae.Term, candidatePterm)
	cr := candidate.ReplicationLocked()
	require_Equal(t, cr.State, raftport.Candidate)
	require_True(t, cr.Term > ae.Term)
}
