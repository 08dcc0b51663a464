package raftport_test

// End-to-end tests of elections and their timers: the random timeouts a
// node arms its election timer with, campaigns, vote requests and replies
// as they arrive on the wire, leadership signals and transfers, and the
// membership changes that resize a group's quorum.

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// errAlreadyLeader is the node's refusal to campaign as leader, matched
// by message.
var errAlreadyLeader = errors.New("raft: already leader")

// loggedHost adds to c a host named name whose log the returned recorder
// keeps, with timing tm.
func (c *cluster) loggedHost(name string, tm raftport.Timing) (*raftport.Server, *logCapture) {
	c.t.Helper()
	rec := &logCapture{}
	s := c.addHostWith(name, c.dialHost(name), func(cfg *raftport.ServerConfig) {
		cfg.Logger = slog.New(rec)
		cfg.Timing = tm
	})
	return s, rec
}

// loggedStepNode is a stepped node of group TEST on a fresh host S-1 of
// timing tm whose log is recorded, with the given peers (the host alone
// when nil).
func loggedStepNode(t *testing.T, tm raftport.Timing, peers ...string) (*stepped, *logCapture) {
	t.Helper()
	c := createRaftClusterWithTiming(t, "R1S", 0, tm)
	s, rec := c.loggedHost("S-1", tm)
	if peers != nil {
		peers = append([]string{s.ID()}, peers...)
	}
	return c.stepNodeOn(s, nodeSetup{peers: peers}), rec
}

// soon waits up to settleWait for f to return nil, looking every
// millisecond: these scenarios take a few milliseconds, and a test that
// is fast is one that the mutation gate tries.
func soon(t testing.TB, f func() error) {
	t.Helper()
	checkFor(t, settleWait, time.Millisecond, f)
}

// requireSpread draws many timeouts and checks that each falls in
// [lo, hi) and that they are not all the same.
func requireSpread(t *testing.T, what string, draw func() time.Duration, lo, hi time.Duration) {
	t.Helper()
	seen := map[time.Duration]bool{}
	for range 500 {
		d := draw()
		if d < lo || d >= hi {
			t.Fatalf("%s timeout %v outside [%v, %v)", what, d, lo, hi)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatalf("%s timeouts never vary: 500 draws all %v", what, lo)
	}
}

// requireFixed draws many timeouts and checks that each is exactly want.
func requireFixed(t *testing.T, what string, draw func() time.Duration, want time.Duration) {
	t.Helper()
	for range 100 {
		if d := draw(); d != want {
			t.Fatalf("%s timeout %v with an empty window, want %v", what, d, want)
		}
	}
}

// TestE2ERandomTimeoutsSpreadOverWindow: a node's election and campaign
// timeouts are spread over [min, max) of its timing, and are exactly min
// when the window is empty.
func TestE2ERandomTimeoutsSpreadOverWindow(t *testing.T) {
	c := createRaftClusterWithTiming(t, "R2S", 0, fastTiming())
	spread := fastTiming()
	fixed := fastTiming()
	fixed.MaxElectionTimeout, fixed.MaxCampaignTimeout = fixed.MinElectionTimeout, fixed.MinCampaignTimeout
	s1, _ := c.loggedHost("S-1", spread)
	s2, _ := c.loggedHost("S-2", fixed)

	p := c.stepNodeOn(s1, nodeSetup{}).p
	requireSpread(t, "election", p.ElectionTimeoutDraw, spread.MinElectionTimeout, spread.MaxElectionTimeout)
	requireSpread(t, "campaign", p.CampaignTimeoutDraw, spread.MinCampaignTimeout, spread.MaxCampaignTimeout)

	p = c.stepNodeOn(s2, nodeSetup{}).p
	requireFixed(t, "election", p.ElectionTimeoutDraw, fixed.MinElectionTimeout)
	requireFixed(t, "campaign", p.CampaignTimeoutDraw, fixed.MinCampaignTimeout)
}

// TestE2ECampaignRearmsElectionTimer: a lone member whose election timer
// is set an hour out wins at once when asked to campaign, which rearms
// that timer; as leader it refuses to campaign again.
func TestE2ECampaignRearmsElectionTimer(t *testing.T) {
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = time.Hour, time.Hour
	tm.MinCampaignTimeout, tm.MaxCampaignTimeout = time.Millisecond, 2*time.Millisecond
	st, _ := loggedStepNode(t, tm)
	st.p.StartRun()
	st.expect(inState(raftport.Follower), inTerm(0))

	st.p.ClearElectionTimerReset()
	require_NoError(t, st.n.Campaign())
	require_False(t, st.p.ElectionTimerReset().IsZero())
	soon(t, holds("the lone member leads", func() bool { return st.n.State() == raftport.Leader }))
	st.expect(inState(raftport.Leader), inTerm(1), votedFor(st.n.ID()))

	require_Error(t, st.n.Campaign(), errAlreadyLeader)
	require_Error(t, st.n.CampaignImmediately(), errAlreadyLeader)
	st.expect(inState(raftport.Leader), inTerm(1))
}

// TestE2EOutOfResourcesFollowerRearmsTimer: a follower past its host's
// storage budget rearms its election timer when it fires, again and
// again, instead of starting an election.
func TestE2EOutOfResourcesFollowerRearmsTimer(t *testing.T) {
	// budgetHost, with election timeouts of milliseconds.
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = 2*time.Millisecond, 4*time.Millisecond
	c := createRaftClusterWithTiming(t, "R1S", 0, tm)
	s := c.addHostWith("S-1", c.dialHost("S-1"), func(cfg *raftport.ServerConfig) { cfg.MaxStorageBytes = 64 })
	st := c.stepNodeOn(s, nodeSetup{group: "BUDGET", peers: []string{s.ID(), nats0}, track: true})
	big := &raftport.Entry{Type: raftport.EntryNormal, Data: make([]byte, 100)}
	st.live(aeFrom(nats0, 1).carrying(big))
	require_True(t, st.p.OutOfResources())

	st.p.StartRun()
	// The leader never speaks again, so only the election timer firing
	// rearms it once cleared; it does so each time it fires.
	for range 2 {
		st.p.ClearElectionTimerReset()
		soon(t, holds("the election timer fired and rearmed", func() bool {
			return !st.p.ElectionTimerReset().IsZero()
		}))
		st.expect(inState(raftport.Follower), inTerm(1), votedFor(""))
	}
}

// TestE2EObserverRearmsTimer: an observer's election timer, when it
// fires, is rearmed for the observer interval instead of starting an
// election.
func TestE2EObserverRearmsTimer(t *testing.T) {
	tm := fastTiming()
	tm.MinElectionTimeout, tm.MaxElectionTimeout = time.Hour, time.Hour
	st, _ := loggedStepNode(t, tm, nats0)
	st.n.SetObserver(true)
	st.p.StartRun()
	for range 2 {
		st.p.ClearElectionTimerReset()
		st.p.Lock()
		st.p.ResetElectLocked(time.Millisecond)
		st.p.Unlock()
		mark := st.p.ElectionTimerReset()
		soon(t, holds("the observer's timer fired and rearmed", func() bool {
			return st.p.ElectionTimerReset().After(mark)
		}))
		st.expect(inState(raftport.Follower), inTerm(0), votedFor(""))
	}
}

// TestE2ERequestVoteOnlyAsCandidate: a follower asked to request votes
// sends nothing and keeps its term and vote; a candidate votes for itself
// and asks with its term and log position.
func TestE2ERequestVoteOnlyAsCandidate(t *testing.T) {
	st, _ := loggedStepNode(t, slowElectionTiming(time.Second), nats0, nats1)
	reqs := st.repliesOn(st.p.Subjects().Vote)
	st.p.RequestVote()
	require_NoError(t, st.c.net.WaitIdle(5*time.Second))
	require_Len(t, len(reqs.ch), 0)
	st.expect(inState(raftport.Follower), inTerm(0), votedFor(""))

	st.p.SwitchToCandidate()
	st.p.RequestVote()
	msg := require_ChanRead(t, reqs.ch, 5*time.Second)
	req, err := codec.DecodeVoteRequest(msg.Data, msg.Reply)
	require_NoError(t, err)
	require_Equal(t, req, voteAsk{Term: 1, Candidate: st.n.ID(), Reply: st.p.Subjects().VoteReply})
	st.expect(inState(raftport.Candidate), inTerm(1), votedFor(st.n.ID()))
}

// TestE2EVotesOnTheWire: a candidate refuses undecodable vote requests
// and replies, reporting them, without any change of state; it answers a
// stale ballot, wins with a granted vote, and as leader steps down for a
// vote reply of a later term.
func TestE2EVotesOnTheWire(t *testing.T) {
	st, rec := loggedStepNode(t, slowElectionTiming(time.Second), nats0, nats1)
	subj := st.p.Subjects()
	conn := st.c.client()
	publish := func(subject, reply string, data []byte) {
		t.Helper()
		require_NoError(t, conn.Publish(subject, reply, data))
		require_NoError(t, st.c.net.WaitIdle(5*time.Second))
	}

	st.p.SwitchToCandidate()
	st.expect(inState(raftport.Candidate), inTerm(1))
	loop := make(chan struct{})
	go func() { defer close(loop); st.p.RunAsCandidate() }()
	soon(t, holds("the candidate voted for itself", func() bool { return st.p.Replication().Vote == st.n.ID() }))

	// Garbage on the ballot subject and on the reply inbox changes nothing.
	publish(subj.Vote, "$NOPE", []byte("junk"))
	publish(subj.VoteReply, "", []byte("junk"))
	require_Equal(t, rec.count(slog.LevelError, "Undecodable vote request"), 1)
	require_Equal(t, rec.count(slog.LevelError, "Undecodable vote reply"), 1)
	st.expect(inState(raftport.Candidate), inTerm(1), votedFor(st.n.ID()))

	// A ballot of an earlier term is answered, and refused.
	answers := st.c.watch("$BALLOT", 4)
	publish(subj.Vote, "$BALLOT", codec.EncodeVoteRequest(askVote(nats1, 0, 0, 0)))
	msg := require_ChanRead(t, answers, 5*time.Second)
	answer, err := codec.DecodeVoteResponse(msg.Data)
	require_NoError(t, err)
	require_Equal(t, answer, voteAnswer{Term: 1, Peer: st.n.ID(), Empty: true})
	st.expect(inState(raftport.Candidate), inTerm(1), votedFor(st.n.ID()))

	// One granted vote makes a quorum of three with ours.
	publish(subj.VoteReply, "", codec.EncodeVoteResponse(voteAnswer{Term: 1, Peer: nats0, Granted: true}))
	require_ChanRead(t, loop, settleWait)
	st.expect(inState(raftport.Leader), inTerm(1))

	loop = make(chan struct{})
	go func() { defer close(loop); st.p.RunAsLeader() }()
	publish(subj.VoteReply, "", codec.EncodeVoteResponse(voteAnswer{Term: 5, Peer: nats1}))
	require_ChanRead(t, loop, settleWait)
	// A leader does not adopt the reply's term, nor forget its vote.
	st.expect(inState(raftport.Follower), inTerm(1), votedFor(st.n.ID()))

	// Only the garbage was reported.
	require_Equal(t, rec.count(slog.LevelError, "Undecodable vote"), 2)
}

// TestE2ELeadChangeKeepsNewest: when nobody reads the leadership signals,
// a node drops the oldest to make room rather than block. Each of 40
// terms of office announces itself with an entry that never commits, so
// the leadership is never signalled gained, and every lost one is.
func TestE2ELeadChangeKeepsNewest(t *testing.T) {
	st, _ := loggedStepNode(t, slowElectionTiming(time.Second), nats0)
	for range 40 {
		st.p.SwitchToLeader()
		st.p.Stepdown(nats0)
	}
	st.expect(inState(raftport.Follower), inTerm(0), lastIndex(40), committed(0),
		field("leader", func(st *stepped) string { return st.state().Leader }, nats0))
	ch := st.n.LeadChangeC()
	got := 0
	for len(ch) > 0 {
		require_False(t, <-ch)
		got++
	}
	require_Equal(t, got, cap(ch))
}

// TestE2ELeaderTransferHoldsTimer: a follower named by a leader transfer
// campaigns on its own short timer, which the old leader's heartbeats no
// longer rearm; an ordinary follower's timer they do rearm.
func TestE2ELeaderTransferHoldsTimer(t *testing.T) {
	st, _ := loggedStepNode(t, slowElectionTiming(time.Second), nats0)
	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).withEntry(), lastIndex(1))
	st.p.ClearElectionTimerReset()
	st.live(leader.after(1, 1))
	require_False(t, st.p.ElectionTimerReset().IsZero())

	transfer := &raftport.Entry{Type: raftport.EntryLeaderTransfer, Data: []byte(st.n.ID())}
	st.p.ClearElectionTimerReset()
	st.live(leader.after(1, 1).carrying(transfer), lastIndex(2))
	require_False(t, st.p.ElectionTimerReset().IsZero())

	st.p.ClearElectionTimerReset()
	st.live(leader.after(1, 2).committing(2))
	require_True(t, st.p.ElectionTimerReset().IsZero())
	st.expect(inState(raftport.Follower), inTerm(1))
}

// TestE2ETransferForgottenByLeader: a follower named by a leader transfer
// while its applies are paused campaigns when they resume; if it already
// leads by then, there is nothing to campaign for and the transfer is
// forgotten, so that the heartbeats of a later leader rearm its timer
// again.
func TestE2ETransferForgottenByLeader(t *testing.T) {
	st, _ := loggedStepNode(t, slowElectionTiming(time.Second), nats0)
	leader := aeFrom(nats0, 1)
	st.live(leader.after(0, 0).withEntry(), lastIndex(1))
	require_NoError(t, st.n.PauseApply())
	transfer := &raftport.Entry{Type: raftport.EntryLeaderTransfer, Data: []byte(st.n.ID())}
	st.live(leader.after(1, 1).carrying(transfer), lastIndex(2))
	st.expect(inState(raftport.Follower), inTerm(1))

	// It took the lead meanwhile (as the reference tests assign it).
	st.p.ForceState(raftport.Leader)
	st.n.ResumeApply()
	st.expect(inState(raftport.Leader), inTerm(1))

	st.p.ForceState(raftport.Follower)
	st.p.ClearElectionTimerReset()
	st.live(leader.after(1, 2).committing(2))
	require_False(t, st.p.ElectionTimerReset().IsZero())
}

// TestE2EForwardedPeerRemoval: a leader drops a forwarded peer removal
// that names no usable peer, and logs one that does.
func TestE2EForwardedPeerRemoval(t *testing.T) {
	c, rg := startAdders(t, groupSpec{memory: true})
	leader := campaignAndWaitOnLeader(t, rg)
	lp := probeOf(leader.node())
	gone := rg.nonLeader().node().ID()
	eventually(t, holds("the leader listens for forwards", func() bool { return lp.Replication().State == raftport.Leader }))
	before := lp.Replication().PIndex

	conn := c.client()
	require_NoError(t, conn.Publish(lp.Subjects().RemovePeer, "", []byte("bad")))
	require_NoError(t, conn.Publish(lp.Subjects().RemovePeer, "", []byte(gone)))
	eventually(t, holds("the leader shrank", func() bool { return lp.Replication().ClusterSize == 2 }))
	ae, err := lp.LoadEntry(before + 1)
	require_NoError(t, err)
	require_Len(t, len(ae.Entries), 1)
	require_Equal(t, ae.Entries[0].Type, raftport.EntryRemovePeer)
	require_Equal(t, string(ae.Entries[0].Data), gone)
}

// TestE2ELeaderShrinkSendsHeartbeat: a leader whose group shrinks by a
// committed removal sends a heartbeat for the shrink, since the smaller
// quorum may already hold its pending entries, besides the one that
// spreads the new commit.
func TestE2ELeaderShrinkSendsHeartbeat(t *testing.T) {
	st, _ := loggedStepNode(t, slowElectionTiming(time.Second), nats0, nats1)
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader), clusterSize(3))
	idx := st.state().PIndex
	require_NoError(t, st.c.net.WaitIdle(5*time.Second))
	wire := st.c.watch(st.p.AppendSubject(), 16)
	st.p.SendAppendEntry([]*raftport.Entry{removing(nats1)})
	st.expect(lastIndex(idx + 1))
	ae := decodeAE(t, require_ChanRead(t, wire, 5*time.Second))
	require_Len(t, len(ae.Entries), 1)
	require_Equal(t, ae.PIndex, idx)

	st.ack(ackFrom(nats0, st.state().Term, idx+1, true), committed(idx+1), sizedAt(2, 2))
	for range 2 {
		hb := decodeAE(t, require_ChanRead(t, wire, 5*time.Second))
		require_Len(t, len(hb.Entries), 0)
		require_Equal(t, hb.Commit, idx+1)
		require_Equal(t, hb.Leader, st.n.ID())
	}
}
