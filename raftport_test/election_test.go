package raftport_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

var errNoNewTermYet = errors.New("term has not moved on yet")

// moveTip sets where the node's log ends, keeping its term and commit.
func (st *stepped) moveTip(pterm, pindex uint64) { st.moveLog(pterm, pindex, st.state().Commit) }

// commitTo sets the node's commit, keeping its term and log.
func (st *stepped) commitTo(commit uint64) {
	r := st.state()
	st.moveLog(r.PTerm, r.PIndex, commit)
}

// timerRestarted checks whether the election timer was restarted since
// the last clearTimer.
func timerRestarted(want bool) check {
	return field("election timer restarted", func(st *stepped) bool { return !st.p.ElectionTimerReset().IsZero() }, want)
}

// clearTimer forgets when the election timer was last restarted.
func (st *stepped) clearTimer() { st.p.ClearElectionTimerReset() }

// reportsLeader checks what Leader says: the node leads and is up to
// date.
func reportsLeader(want bool) check {
	return field("reports leader", func(st *stepped) bool { return st.n.Leader() }, want)
}

// follows checks whom the node takes for the group's leader, and that it
// says it has one exactly when that is someone.
func follows(leader string) check {
	return all(field("group leader", func(st *stepped) string { return st.n.GroupLeader() }, leader),
		field("leaderless", func(st *stepped) bool { return st.n.Leaderless() }, leader == ""))
}

// becomeCandidate switches the node to candidate, then runs the checks.
func (st *stepped) becomeCandidate(checks ...check) {
	st.t.Helper()
	st.p.SwitchToCandidate()
	st.expect(checks...)
}

// TestNRGSwitchStateClearsQueues ports test 2626: a leader that switches
// to follower drops its queued proposals and append-entry responses.
func TestNRGSwitchStateClearsQueues(t *testing.T) {
	st := stepNode(t)
	queued := func(proposals, responses int) check {
		return field("queued proposals and responses", func(st *stepped) string {
			return fmt.Sprint(st.p.PendingProposals(), st.p.PendingResponses())
		}, fmt.Sprint(proposals, responses))
	}

	st.p.ForceState(raftport.Leader)
	st.expect(queued(0, 0))
	st.p.QueueProposalAndResponse()
	st.expect(queued(1, 1))

	st.p.Lock()
	st.p.SwitchStateLocked(raftport.Follower)
	st.p.Unlock()
	st.expect(queued(0, 0))
}

// TestNRGUnsuccessfulVoteRequestCampaignEarly ports test 2629: a follower
// that refuses a vote because its own log is ahead campaigns early, but a
// candidate that refuses does not restart its election timer.
func TestNRGUnsuccessfulVoteRequestCampaignEarly(t *testing.T) {
	st := stepNode(t)
	st.clearTimer()

	// A follower votes for a candidate, which restarts its timer.
	st.vote(askVote(nats0, 1, 0, 0), inTerm(1), votedFor(nats0), timerRestarted(true))
	st.clearTimer()

	// A follower refuses an outdated candidate and campaigns early.
	st.moveTip(1, 100)
	st.vote(askVote(nats0, 2, 1, 2), inTerm(2), votedFor(""), timerRestarted(true))
	st.clearTimer()

	st.moveTip(2, 200)
	st.becomeCandidate(inTerm(3), inState(raftport.Candidate), timerRestarted(true))
	st.clearTimer()

	// A candidate refuses an outdated candidate of a later term: it
	// restarts its campaign.
	st.vote(askVote(nats0, 4, 1, 2), inTerm(4), votedFor(""), timerRestarted(true))
	st.clearTimer()

	st.moveTip(4, 400)
	st.becomeCandidate(inTerm(5), inState(raftport.Candidate), timerRestarted(true))
	st.clearTimer()

	// A candidate refuses an outdated candidate of its own term: restarting
	// the timer here would let any candidate we refuse short-circuit our
	// own election.
	st.vote(askVote(nats0, 5, 1, 2), inTerm(5), votedFor(""), timerRestarted(false))
}

// waitOnNewTerm waits for a leader whose term is past after, and returns
// it. StepDown hands leadership over asynchronously, so the next leader
// is only known once it won its own, later, term.
func waitOnNewTerm[M member](t *testing.T, g group[M], after uint64) M {
	t.Helper()
	var leader, none M
	eventually(t, func() error {
		if leader = g.leader(); leader == none || leader.node().Term() <= after {
			return errNoNewTermYet
		}
		return nil
	})
	return leader
}

// inTermOf is a node check: the node is in term.
func inTermOf(term uint64) func(raftport.RaftNode) error {
	return func(n raftport.RaftNode) error {
		if got := n.Term(); got != term {
			return fmt.Errorf("in term %d, want %d", got, term)
		}
		return nil
	}
}

// waitOnSettledTerm waits until every member is in the leader's term and
// the leader has stored an entry of that term (its pterm caught up), and
// returns that term.
func waitOnSettledTerm[M member](t *testing.T, g group[M], leader M) uint64 {
	t.Helper()
	var term uint64
	eventually(t, func() error {
		lr := probeOf(leader.node()).Replication()
		if !leader.node().Leader() || lr.PTerm != lr.Term {
			return errNoNewTermYet
		}
		term = lr.Term
		return g.everyNode(inTermOf(term))()
	})
	return term
}

// waitOnSameLog waits until every member's last log entry is the leader's
// and returns its index.
func waitOnSameLog[M member](t *testing.T, g group[M]) uint64 {
	t.Helper()
	var pindex uint64
	var none M
	eventually(t, func() error {
		l := g.leader()
		if l == none {
			return errors.New("no leader")
		}
		lr := probeOf(l.node()).Replication()
		pindex = lr.PIndex
		return g.everyNode(func(n raftport.RaftNode) error {
			if r := probeOf(n).Replication(); r.PTerm != lr.PTerm || r.PIndex != lr.PIndex {
				return fmt.Errorf("at [%d:%d], the leader at [%d:%d]", r.PTerm, r.PIndex, lr.PTerm, lr.PIndex)
			}
			return nil
		})()
	})
	return pindex
}

// TestNRGCandidateDoesntRevertTermAfterOldAE ports test 2635: an append
// entry whose term is newer than a candidate's last log term but older
// than its current term must not take the candidate's term back.
func TestNRGCandidateDoesntRevertTermAfterOldAE(t *testing.T) {
	_, rg, leaderSM := electedAdders(t, groupSpec{memory: true})

	// Bump the term up a few times. Three stepdowns take the group from
	// term 1 to term 4 unless a slow machine splits a vote on the way; the
	// property under test only needs a settled term T where the leader's
	// last entry is of term T too, so T is read back rather than assumed.
	for range 3 {
		term := leaderSM.node().Term()
		require_NoError(t, leaderSM.node().StepDown())
		leaderSM = waitOnNewTerm(t, rg, term)
	}
	term := waitOnSettledTerm(t, rg, leaderSM)
	require_True(t, term >= 4)
	leader, follower := probeOf(leaderSM.node()), probeOf(rg.nonLeader().node())
	require_Equal(t, leader.Replication().Term, term)
	require_Equal(t, follower.Replication().Term, term)

	// Every term goes up by five, pterm stays at T.
	unlock := rg.locked()
	for _, n := range rg.nodes() {
		p := probeOf(n)
		p.SetTermLocked(p.ReplicationLocked().Term + 5)
	}
	lr := leader.ReplicationLocked()
	unlock()
	require_Equal(t, lr.PTerm, term)

	// An append entry with a term newer than pterm but older than the
	// term (6 when T is 4, as in the reference), given to the follower as
	// a candidate, must not take it back to the entry's term.
	stale := aeFrom(leaderSM.node().ID(), term+2).after(lr.PTerm, lr.PIndex).committing(lr.Commit)
	follower.SwitchToCandidate()
	require_NoError(t, follower.ProcessAppendEntry(stale.wire(t), feed{}))
	require_NotEqual(t, follower.Replication().Term, stale.Term)
}

// TestNRGTermDoesntRollBackToPtermOnCatchup ports test 2636: a follower
// that starts a catchup keeps its current term instead of taking the term
// of its last log entry.
func TestNRGTermDoesntRollBackToPtermOnCatchup(t *testing.T) {
	c, rg, first := electedAdders(t, groupSpec{memory: true})

	// Entries of the first term: term 1 in the reference, read back here
	// because a slow machine may split the first vote or lose a leader on
	// the way.
	for total := range int64(5) {
		first.proposeDelta(1)
		rg.waitOnTotal(t, total+1)
	}
	firstTerm := waitOnSettledTerm(t, rg, rg.waitOnLeader())
	pindex := waitOnSameLog(t, rg)
	// The no-op entry of each leader, then the five: 6 on term 1.
	require_True(t, pindex >= 6)
	if firstTerm == 1 {
		require_Equal(t, pindex, 6)
	}
	everyoneAt := func(term, pterm, pindex uint64) func(raftport.RaftNode) error {
		return func(n raftport.RaftNode) error {
			if r := probeOf(n).ReplicationLocked(); r.Term != term || r.PTerm != pterm || r.PIndex != pindex {
				return fmt.Errorf("at term %d, [%d:%d], want term %d, [%d:%d]", r.Term, r.PTerm, r.PIndex, term, pterm, pindex)
			}
			return nil
		}
	}
	unlock := rg.locked()
	require_NoError(t, rg.everyNode(everyoneAt(firstTerm, firstTerm, pindex))())
	unlock()

	// Force a stepdown so that we move up to a new term.
	probeOf(rg.leader().node()).SwitchToFollower("")
	leaderSM := waitOnNewTerm(t, rg, firstTerm)
	second := waitOnSettledTerm(t, rg, leaderSM)
	leader := probeOf(leaderSM.node())

	// From here the leader's own append entries reach no one, and none is
	// left in flight or queued, so that the crafted one below is the first
	// the truncated followers see: a heartbeat handled first would start
	// the catchup itself, and a catching-up follower drops new entries,
	// leaving ours unanswered.
	leaderAEs := c.net.Drop(transport.Filter{SubjectPrefix: leader.AppendSubject(), From: leaderSM.node().ID()}, 1)
	require_NoError(t, c.net.WaitIdle(5*time.Second))
	within(t, 5*time.Second, rg.everyNode(func(n raftport.RaftNode) error {
		if queued := probeOf(n).PendingAppendEntries(); queued > 0 {
			return fmt.Errorf("%d append entries still queued", queued)
		}
		return nil
	}))

	// Everyone is on the new term. Pruning the followers' logs back to the
	// first term sets up the catchup, and must leave their term alone.
	unlock = rg.locked()
	for _, n := range rg.nodes() {
		require_Equal(t, probeOf(n).ReplicationLocked().Term, second)
	}
	for _, n := range rg.followers().nodes() {
		probeOf(n).TruncateWALLocked(firstTerm, pindex)
	}
	require_NoError(t, rg.followers().everyNode(everyoneAt(second, firstTerm, pindex))())
	lr := leader.ReplicationLocked()
	unlock()
	trick := aeFrom(leaderSM.node().ID(), lr.Term).after(lr.PTerm, lr.PIndex).committing(lr.Commit)

	// An append entry that tricks the followers into a catchup, in which
	// they used to set their term back to pterm. Once both answered, none
	// may be back on the first term.
	nc := c.client()
	inbox := nc.NewInbox()
	answers, sub := chanSubscribe(t, nc, inbox, 2)
	defer sub.Unsubscribe()
	require_NoError(t, nc.Publish(leader.AppendSubject(), inbox, trick.wire(t).Bytes()))
	require_ChanRead(t, answers, 5*time.Second)
	require_ChanRead(t, answers, 5*time.Second)
	for _, n := range rg.nodes() {
		require_NotEqual(t, n.Term(), firstTerm)
	}
	require_True(t, c.net.RemoveRule(leaderAEs))
}

// TestNRGReportLeaderAfterNoopEntry ports test 2692: a new leader reports
// itself leader only once the entry it sent on taking office is applied.
func TestNRGReportLeaderAfterNoopEntry(t *testing.T) {
	st := stepNode(t)
	st.expect(inState(raftport.Follower), inTerm(0), reportsLeader(false))
	st.becomeCandidate(inState(raftport.Candidate), inTerm(1), reportsLeader(false))

	// Leader state, with the no-op entry establishing leadership sent,
	// but still short of an up-to-date leader.
	st.p.SwitchToLeader()
	st.expect(inState(raftport.Leader), inTerm(1), lastIndex(1), appliedAt(0), reportsLeader(false))

	// Once the entry is committed and applied we report being leader.
	st.commitTo(1)
	st.applied(1, appliedAt(1), reportsLeader(true))
}

// snapshotEntries is a snapshot as a leader sends it in a catchup; the
// content does not matter.
func (st *stepped) snapshotEntries() []*raftport.Entry {
	return []*raftport.Entry{{Type: raftport.EntrySnapshot}, st.p.PeerStateEntry()}
}

// TestNRGDontSwitchToCandidateWithInflightSnapshot ports test 2650: a
// follower may not campaign while a snapshot it received is still on its
// way to the state machine.
func TestNRGDontSwitchToCandidateWithInflightSnapshot(t *testing.T) {
	st := stepNode(t)
	trigger := aeFrom(nats0, 1).after(1, 1).committing(1)

	st.live(trigger, catchupFrom(0, 0))
	// The snapshot is in flight until the state machine processed it, as
	// the apply queue is asynchronous; meanwhile the follower may not
	// campaign.
	st.catchup(trigger.carrying(st.snapshotEntries()...), lastIndex(1), committed(1))
	st.becomeCandidate(inState(raftport.Follower))

	st.applied(1)
	st.becomeCandidate(inState(raftport.Candidate))
}

// TestNRGDontSwitchToCandidateWithMultipleInflightSnapshots ports test
// 2651: as 2650, with two snapshots in flight, both of which must be
// processed before the follower may campaign.
func TestNRGDontSwitchToCandidateWithMultipleInflightSnapshots(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1)
	snapshot := st.snapshotEntries()

	st.live(leader.after(0, 0).carrying(snapshot...), lastIndex(1), committed(0), appliedAt(0))
	st.live(leader.after(1, 1).committing(1).carrying(snapshot...), lastIndex(2), committed(1), appliedAt(0))
	st.live(leader.after(1, 2).committing(2), lastIndex(2), committed(2), appliedAt(0))

	// Each snapshot in flight holds off the campaign until processed.
	for index := range uint64(2) {
		st.becomeCandidate(inState(raftport.Follower))
		st.applied(index + 1)
	}
	st.becomeCandidate(inState(raftport.Candidate))
}

// TestNRGMustNotResetVoteOnStepDownOrLeaderTransfer ports test 2714:
// neither a stepdown nor a leader transfer clears the vote of the term.
func TestNRGMustNotResetVoteOnStepDownOrLeaderTransfer(t *testing.T) {
	st := stepNode(t)
	st.vote(askVote(nats0, 1, 0, 0), inTerm(1), votedFor(nats0))

	st.p.ForceState(raftport.Leader)
	require_NoError(t, st.n.StepDown())
	st.expect(votedFor(nats0))

	// The vote is cleared once the intended leader starts an election
	// with a higher term, not by the transfer.
	transfer := &raftport.Entry{Type: raftport.EntryLeaderTransfer, Data: []byte(nats0)}
	st.live(aeFrom(nats0, 1).after(0, 0).carrying(transfer), inTerm(1), votedFor(nats0))
}

// TestNRGInlineStepdown ports test 2621: when StepDown returns the node
// is no longer leader.
func TestNRGInlineStepdown(t *testing.T) {
	_, _, leader := electedAdders(t, groupSpec{memory: true})
	n := leader.node()
	require_NoError(t, n.StepDown())
	require_NotEqual(t, n.State(), raftport.Leader)
}

// TestNRGSimpleElection ports test 2624: after a stepdown in a 9-member
// group a candidate asks for votes on the next term with the previous
// leader's last term, and every other member grants it.
func TestNRGSimpleElection(t *testing.T) {
	c, rg := startAdders(t, groupSpec{hosts: 9, timing: steadyTiming()})
	leaderSM := campaignAndWaitOnLeader(t, rg)
	leader := probeOf(leaderSM.node())
	startTerm := leader.Replication().Term

	// The vote request subject is the same on every member; each has its
	// own vote response inbox.
	voteReqs := c.watch(leader.Subjects().Vote, 1)
	voteResps := make(chan *message, 64)
	nc := c.client()
	for _, n := range rg.nodes() {
		sub := subscribeInto(t, nc, probeOf(n).Subjects().VoteReply, voteResps)
		defer sub.Unsubscribe()
	}

	// Every member must hold the leader's last entry, or a member ahead of
	// the candidate rightly refuses its vote; the reference's cluster is
	// settled by the time it steps down, a fast one here may not be yet.
	waitOnSameLog(t, rg)

	// Until every vote is in, only the old leader's append entries (its
	// leadership handover) pass. The winner's first append entry would
	// otherwise overtake a vote request still queued at a slower member,
	// which then rightly refuses a candidate whose log is behind its own:
	// the transports here, like NATS clients, deliver each subscription on
	// its own, where the reference's in-server delivery keeps the order.
	var winnerAEs []transport.RuleID
	for _, n := range rg.except(leaderSM).nodes() {
		winnerAEs = append(winnerAEs, c.net.Drop(transport.Filter{SubjectPrefix: leader.AppendSubject(), From: n.ID()}, 1))
	}

	require_NoError(t, leaderSM.node().StepDown())

	// The candidate bumped the term to start the election.
	msg := require_ChanRead(t, voteReqs, time.Second)
	vr, err := codec.DecodeVoteRequest(msg.Data, msg.Reply)
	require_NoError(t, err)
	require_NotEqual(t, vr.Candidate, "")
	require_Equal(t, vr.Term, startTerm+1)
	require_Equal(t, vr.LastTerm, startTerm)

	// As many grants in the request's term as there are other members;
	// older responses still in flight do not count.
	for granted := 0; granted < len(rg)-1; {
		msg := require_ChanRead(t, voteResps, time.Second)
		re, err := codec.DecodeVoteResponse(msg.Data)
		require_NoError(t, err)
		if re.Term < vr.Term {
			continue
		}
		require_True(t, re.Granted)
		require_Equal(t, re.Term, vr.Term)
		require_Equal(t, re.Term, startTerm+1)
		granted++
	}
	for _, id := range winnerAEs {
		require_True(t, c.net.RemoveRule(id))
	}

	// Everyone voted for our candidate and is on its term.
	unlock := rg.locked()
	defer unlock()
	for _, n := range rg.nodes() {
		r := probeOf(n).ReplicationLocked()
		require_Equal(t, r.Term, vr.Term)
		require_Equal(t, r.Term, startTerm+1)
		require_Equal(t, r.Vote, vr.Candidate)
	}
}

// TestNRGCancelCatchupWhenDetectingHigherTermDuringVoteRequest ports test
// 2653: a vote request of a higher term cancels a catchup, whose later
// entries could otherwise give the previous leader a quorum the new
// leader does not know about.
func TestNRGCancelCatchupWhenDetectingHigherTermDuringVoteRequest(t *testing.T) {
	st := stepNode(t)
	leader := aeFrom(nats0, 1).withEntry()

	st.live(leader.after(1, 1).committing(1), catchupFrom(0, 0))
	st.catchup(leader.after(0, 0), catchingUp())

	vote := askVote(nats0, 2, 1, 1)
	vote.Reply = "reply"
	st.vote(vote, notCatchingUp())
}

// leadChangeSaysNotLeader checks that the node signalled a lead change,
// and that it said "not leader".
func leadChangeSaysNotLeader(st *stepped) {
	st.t.Helper()
	select {
	case isLeader := <-st.n.LeadChangeC():
		require_False(st.t, isLeader)
	default:
		st.t.Error("Expected leadChange signal")
	}
}

// TestNRGSignalLeadChangeFalseIfCampaignImmediately ports test 2665: a
// node told to campaign immediately signals "not leader" when another
// leader's entry arrives, whether it got to campaign or even lead.
func TestNRGSignalLeadChangeFalseIfCampaignImmediately(t *testing.T) {
	for _, tc := range []struct {
		title string
		reach func(st *stepped) // how far the campaign got
	}{
		{title: "Follower", reach: func(*stepped) {}},
		{title: "Candidate", reach: func(st *stepped) { st.p.SwitchToCandidate() }},
		{title: "Leader", reach: func(st *stepped) {
			st.p.SwitchToCandidate()
			st.p.SwitchToLeader()
			// No signal: the leader has applied nothing of its term.
			select {
			case <-st.n.LeadChangeC():
				st.t.Error("Expected no leadChange signal")
			default:
			}
		}},
	} {
		t.Run(tc.title, func(t *testing.T) {
			st := stepNode(t)
			// Campaigning immediately says we are the preferred leader.
			require_NoError(t, st.n.CampaignImmediately())
			tc.reach(st)

			st.live(aeFrom(nats0, 1).after(0, 0).withEntry(), leadChangeSaysNotLeader,
				inState(raftport.Follower), follows(nats0), inTerm(1))
		})
	}
}

// TestNRGStepdownWithHighestTermDuringCatchup ports test 2682: an entry
// carrying a higher leader term makes a candidate, and a leader, step
// down to that term and still store the entry.
func TestNRGStepdownWithHighestTermDuringCatchup(t *testing.T) {
	st := stepNode(t)
	entry := aeFrom(nats0, 1).withEntry()

	st.becomeCandidate(inTerm(1))
	st.live(entry.after(0, 0).inLeaderTerm(10), inTerm(10), lastIndex(1))

	st.p.SwitchToLeader()
	st.live(entry.after(1, 1).inLeaderTerm(20), inTerm(20), lastIndex(2))
}

// TestNoEarlyCampaignAgainstLeaderOfTheTerm checks raftport's one departure
// from the reference's vote rule: a follower that already follows a leader
// in the vote request's term refuses an outdated candidate without
// campaigning early, since that term has its leader; the candidate's
// request was merely overtaken by the winner's append entry. In a new term
// the same refusal still campaigns early, as test 2629 asserts.
func TestNoEarlyCampaignAgainstLeaderOfTheTerm(t *testing.T) {
	st := stepNode(t)
	st.live(aeFrom(nats0, 1).withEntry(), follows(nats0), lastIndex(1))
	st.clearTimer()

	// The loser of term 1 asks for a vote with a log behind ours.
	st.vote(askVote(nats1, 1, 0, 0), inTerm(1), votedFor(""), timerRestarted(false),
		inState(raftport.Follower), follows(nats0))

	// A candidate of term 2, still behind: no leader of term 2 is known, so
	// we campaign early.
	st.vote(askVote(nats1, 2, 0, 0), inTerm(2), votedFor(""), timerRestarted(true))
}
