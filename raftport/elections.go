package raftport

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Elections: the decisions are protocol.DecideVote (answering a ballot),
// protocol.JudgeVoteReply with protocol.Tally (counting the answers) and
// protocol.ChooseSuccessor (handing leadership over). This file gathers
// what they look at, carries out what they decide, and moves the messages.

// xferCampaignDelay is how soon the peer named by a leader transfer starts
// its election: the old leader has already stepped down, so every moment
// waited is a moment without a leader.
const xferCampaignDelay = 10 * time.Millisecond

// randCampaignTimeout spreads candidates over the campaign window so that
// they rarely split the vote.
func randCampaignTimeout(tm *Timing) time.Duration {
	if span := tm.MaxCampaignTimeout - tm.MinCampaignTimeout; span > 0 {
		return tm.MinCampaignTimeout + rand.N(span)
	}
	return tm.MinCampaignTimeout
}

// Campaign has the node start an election after a random campaign delay.
func (n *raft) Campaign() error { return n.askForElection(false) }

// CampaignImmediately has the node start an election after the shortest
// delay, even if its log is still empty from initialization.
func (n *raft) CampaignImmediately() error { return n.askForElection(true) }

// askForElection is Campaign, or CampaignImmediately when now is set.
func (n *raft) askForElection(now bool) error {
	return wlocked(n, func() error {
		if !now {
			return n.campaign(randCampaignTimeout(&n.timing))
		}
		n.maybeLeader = true
		n.resetInitializing()
		return n.campaign(n.timing.MinCampaignTimeout / 2)
	})
}

// campaign arms the election timer so that the run loop makes us a
// candidate after et, unless protocol.MayCampaign refuses (we lead).
// The caller holds the node lock.
func (n *raft) campaign(et time.Duration) (err error) {
	if protocol.MayCampaign(n.role()) {
		n.debug("Campaign begins in %v", et)
		n.resetElect(et)
	} else {
		err = errAlreadyLeader
	}
	return err
}

// xferCampaign starts the election a leader transfer asked us to win; a
// leader already has what the transfer meant to give it.
// The caller holds the node lock.
func (n *raft) xferCampaign() error {
	err := n.campaign(xferCampaignDelay)
	n.lxfer = n.lxfer && err == nil
	return err
}

// members lists every peer for the leadership rules, ages measured now.
// The caller holds the node lock.
func (n *raft) members() []protocol.Member {
	now := time.Now()
	out := make([]protocol.Member, 0, len(n.peers))
	for id, ps := range n.peers {
		out = append(out, protocol.Member{ID: id, Self: id == n.id, LastIndex: ps.li, Age: now.Sub(ps.ts)})
	}
	return out
}

// selectNextLeader guesses the best successor, the peer that stored the
// most of our log (protocol.MostCaughtUp). The caller holds the node lock.
func (n *raft) selectNextLeader() string { return protocol.MostCaughtUp(n.members()) }

// StepDown makes a leader step down, handing leadership to the preferred
// peer when it is healthy, or else to the healthy peer furthest along.
// A peer counts as healthy when heard from within three heartbeats: the
// reference also asks the server's gossip whether the peer's server is
// offline, but a raftport host has no gossip.
func (n *raft) StepDown(preferred ...string) error {
	next, err := n.planHandover(preferred)
	if err != nil {
		return err
	}
	// The transfer goes out directly rather than through the proposal
	// queue: stepping down below drains that queue.
	if next != noLeader {
		n.debug("Handing leadership to %q", next)
		n.sendAppendEntry([]*Entry{newEntry(EntryLeaderTransfer, []byte(next))})
	}
	n.stepdown(noLeader)
	return nil
}

// planHandover checks a step-down request and picks the successor.
func (n *raft) planHandover(preferred []string) (string, error) {
	n.Lock()
	defer n.Unlock()
	switch {
	case n.State() != Leader:
		return noLeader, errNotLeader
	case len(preferred) > 1:
		return noLeader, errTooManyPrefs
	}
	n.debug("Leadership handover requested")
	wanted := strings.Join(preferred, "")
	h := protocol.ChooseSuccessor(n.members(), wanted, 3*n.timing.HeartbeatInterval)
	if h.PreferredRefused {
		n.debug("Preferred successor %q is not eligible", wanted)
	}
	return h.Successor, nil
}

// runAsCandidate asks for votes and counts them until we win, lose to a
// higher term, or the election times out and we try again.
func (n *raft) runAsCandidate() {
	// Replies from an earlier election must not count in this one.
	n.underLock(func() { n.votes.Drain() })
	n.requestVote()
	n.votes.Push(&voteResponse{term: n.Term(), peer: n.ID(), granted: true,
		empty: rlocked(n, func() bool { return n.abstain })})
	var tally protocol.Tally
	duties := candidateInbox(&tally)
	for n.State() == Candidate && n.candidateStep(duties) {
	}
}

// candidateStep waits for one event of a campaign and handles it. It
// reports false when the campaign loop must end at once: the node stops,
// or the election timed out and the next one began.
func (n *raft) candidateStep(duties []inboxDuty) bool {
	elect := n.electTimer()
	select {
	case <-n.quit:
		return false
	case <-n.s.quitCh:
		return false
	case <-elect.C:
		n.startElection()
		return false
	case <-n.inbox:
		return n.serveInbox(Candidate, duties)
	}
}

// takeVoteReply handles one queued vote reply as protocol.JudgeVoteReply
// rules for our role: a candidate counts it in tally and takes the lead
// once it won; a later term ends a candidacy or a leadership. It reports
// whether the current role's loop goes on.
func (n *raft) takeVoteReply(tally *protocol.Tally) bool {
	vr, ok := n.votes.PopOne()
	if !ok {
		// A Drain may have emptied the queue after the signal.
		return true
	}
	n.RLock()
	role, term := n.role(), n.term
	n.RUnlock()
	v := protocol.JudgeVoteReply(role, term, protocol.VoteReply{Term: vr.term, Peer: vr.peer, Granted: vr.granted, Empty: vr.empty})
	if v.StepDown {
		n.underLock(func() { n.yieldToTerm(vr.term, v.AdoptTerm) })
		return false
	}
	if !v.Count || tally == nil {
		return true
	}
	// Voters become our followers, so track them.
	n.trackPeer(vr.peer)
	tally.Record(vr.peer, vr.empty)
	if n.wonElection(tally) {
		n.switchToLeader()
		return false
	}
	return true
}

// yieldToTerm steps down because a vote reply carried a later term, which
// a candidate adopts first: forming a quorum now would ignore whoever is
// in that term. The caller holds the node lock.
func (n *raft) yieldToTerm(term uint64, adopt bool) {
	if adopt {
		n.debug("Abandoning candidacy: a vote reply carried term %d, ours is %d", term, n.term)
		n.term, n.vote = term, noVote
		n.writeTermVote()
	}
	n.stepdownLocked(noLeader)
}

// wonElection reports whether the votes in tally elect us: a quorum of
// the cluster, or the whole of it.
func (n *raft) wonElection(tally *protocol.Tally) bool {
	return tally.Won(n.quorumNeeded(), n.ClusterSize())
}

// quorumNeeded is the quorum of the current cluster size.
func (n *raft) quorumNeeded() int { return rlocked(n, func() int { return n.qn }) }

// takeVoteRequest answers one queued ballot.
func (n *raft) takeVoteRequest() {
	// A Drain may have emptied the queue after the signal.
	if vr, ok := n.reqs.PopOne(); ok {
		if err := n.processVoteRequest(vr); err != nil {
			n.debug("Vote request failed: %v", err)
		}
	}
}

// handleVoteResponse queues a vote for the candidate loop (or the leader
// loop, which watches for later terms). It has the subscription callback
// shape; only the message matters here.
func (n *raft) handleVoteResponse(_ transport.Subscription, _, _ string, msg []byte) {
	switch vr, state := decodeVoteResponse(msg), n.State(); {
	case vr == nil:
		n.error("Undecodable vote reply in group %q", n.group)
	case state != Candidate && state != Leader:
		n.debug("Vote reply arrived after candidacy ended, discarding")
	default:
		n.debug("Vote reply in: %+v", vr)
		n.votes.Push(vr)
	}
}

// handleVoteRequest queues a candidate's ballot for the run loop.
func (n *raft) handleVoteRequest(_ transport.Subscription, _, reply string, msg []byte) {
	if vr := decodeVoteRequest(msg, reply); vr != nil {
		n.reqs.Push(vr)
		return
	}
	n.error("Undecodable vote request in group %q", n.group)
}

// processVoteRequest answers a candidate. A nil request is no error, so
// callers can pass whatever a queue gave them.
func (n *raft) processVoteRequest(vr *voteRequest) error {
	if vr != nil {
		n.answerVoteRequest(vr)
	}
	return nil
}

// voter is what protocol.DecideVote knows of us.
// The caller holds the node lock.
func (n *raft) voter() protocol.Voter {
	return protocol.Voter{
		Term: n.term, LastTerm: n.pterm, LastIndex: n.pindex, Vote: n.vote, Leader: n.leader,
		Role: n.role(), Initializing: n.initializing, Abstain: n.abstain,
	}
}

// answerVoteRequest decides on a ballot with protocol.DecideVote, carries
// the decision out (a change of term or vote is durable before the answer
// leaves), sends the answer and returns it.
func (n *raft) answerVoteRequest(vr *voteRequest) *voteResponse {
	n.debug("Vote request in: %+v", vr)
	n.Lock()
	v := protocol.DecideVote(n.voter(), protocol.Ballot{
		Term: vr.term, LastTerm: vr.lastTerm, LastIndex: vr.lastIndex, Candidate: vr.candidate,
	})
	n.carryOutVote(v, vr.term)
	n.Unlock()
	answer := &voteResponse{term: v.Term, peer: n.id, granted: v.Granted, empty: v.Empty}
	n.debug("Vote reply out: %+v to %q", answer, vr.reply)
	n.sendReply(vr.reply, answer.encode())
	return answer
}

// carryOutVote does what a VoteVerdict asks, in its order.
// The caller holds the node lock.
func (n *raft) carryOutVote(v protocol.VoteVerdict, ballotTerm uint64) {
	if v.StepDown {
		n.debug("Leaving state %s: a vote request carried term %d, ours is %d",
			strings.ToLower(n.State().String()), ballotTerm, n.term)
		n.stepdownLocked(noLeader)
	}
	if v.CancelCatchup {
		n.cancelCatchup()
	}
	n.term, n.vote = v.Term, v.Vote
	if v.Persist {
		n.writeTermVote()
	}
	switch {
	case v.RestartTimer:
		n.resetElectionTimeout()
	case v.CampaignSoon:
		// Our log is ahead and we are free to vote: campaign early. The
		// reference also does so as a follower of this term's leader; under
		// reordered delivery that unseated every new leader in turn.
		n.resetElect(randCampaignTimeout(&n.timing))
	}
}

// requestVote votes for ourselves, durably, then asks the group for
// votes. Only a candidate asks.
func (n *raft) requestVote() {
	ballot, subject, inbox := n.castOwnVote()
	if ballot == nil {
		return
	}
	n.debug("Vote request out: %+v", ballot)
	n.sendRPC(subject, inbox, ballot.encode())
}

// castOwnVote records a candidate's vote for itself and returns its ballot
// with where to send it; nil when we are no candidate.
func (n *raft) castOwnVote() (*voteRequest, string, string) {
	n.Lock()
	defer n.Unlock()
	if n.State() != Candidate {
		return nil, "", ""
	}
	n.vote = n.id
	n.writeTermVote()
	return &voteRequest{term: n.term, lastTerm: n.pterm, lastIndex: n.pindex, candidate: n.id}, n.vsubj, n.vreply
}
