package raftport

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// xferCampaignDelay is how soon the peer named by a leader transfer starts
// its election: the old leader has already stepped down, so every moment
// waited is a moment without a leader.
const xferCampaignDelay = 10 * time.Millisecond

// selectNextLeader guesses the best successor: the peer that stored the
// most of our log. StepDown checks health more thoroughly.
// The caller holds the node lock.
func (n *raft) selectNextLeader() string {
	best, bestIndex := noLeader, uint64(0)
	for peer, ps := range n.peers {
		if peer == n.id || ps.li <= bestIndex {
			continue
		}
		best, bestIndex = peer, ps.li
	}
	return best
}

// peerLooksHealthy reports whether a peer was heard from within three
// heartbeats. The reference also asks the server's gossip whether the
// peer's server is offline; a raftport host has no gossip, so recent
// contact is the only liveness signal it has.
// The caller holds the node lock.
func (n *raft) peerLooksHealthy(ps *lps) bool {
	return ps != nil && time.Since(ps.ts) < 3*n.timing.HeartbeatInterval
}

// StepDown makes a leader step down, handing leadership to the preferred
// peer when it is healthy, or else to any healthy peer.
func (n *raft) StepDown(preferred ...string) error {
	n.Lock()
	if n.State() != Leader {
		n.Unlock()
		return errNotLeader
	}
	if len(preferred) > 1 {
		n.Unlock()
		return errTooManyPrefs
	}
	n.debug("Leadership handover requested")

	wanted := noLeader
	if len(preferred) == 1 && preferred[0] != n.id {
		wanted = preferred[0]
	}
	next := noLeader
	if wanted != noLeader && n.peerLooksHealthy(n.peers[wanted]) {
		next = wanted
	}
	if next == noLeader {
		for peer, ps := range n.peers {
			if peer != n.id && n.peerLooksHealthy(ps) {
				next = peer
				break
			}
		}
	}
	n.Unlock()

	if wanted != noLeader && next == noLeader {
		n.debug("Preferred successor %q is not eligible", wanted)
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

// Campaign has the node start an election after a random campaign delay.
func (n *raft) Campaign() error {
	n.Lock()
	defer n.Unlock()
	return n.campaign(randCampaignTimeout(&n.timing))
}

// CampaignImmediately has the node start an election after the shortest
// delay, even if its log is still empty from initialization.
func (n *raft) CampaignImmediately() error {
	n.Lock()
	defer n.Unlock()
	n.maybeLeader = true
	n.resetInitializing()
	return n.campaign(n.timing.MinCampaignTimeout / 2)
}

// randCampaignTimeout spreads candidates over the campaign window so that
// they rarely split the vote.
func randCampaignTimeout(tm *Timing) time.Duration {
	span := tm.MaxCampaignTimeout - tm.MinCampaignTimeout
	if span <= 0 {
		return tm.MinCampaignTimeout
	}
	return tm.MinCampaignTimeout + time.Duration(rand.Int64N(int64(span)))
}

// campaign arms the election timer so that the run loop turns us into a
// candidate after et.
// The caller holds the node lock.
func (n *raft) campaign(et time.Duration) error {
	n.debug("Campaign begins")
	if n.State() == Leader {
		return errAlreadyLeader
	}
	n.resetElect(et)
	return nil
}

// xferCampaign starts the election a leader transfer asked us to win.
// The caller holds the node lock.
func (n *raft) xferCampaign() error {
	n.debug("Campaign begins after a leadership handover")
	if n.State() == Leader {
		n.lxfer = false
		return errAlreadyLeader
	}
	n.resetElect(xferCampaignDelay)
	return nil
}

// runAsCandidate asks for votes and counts them until we win, lose to a
// higher term, or the election times out and we try again.
func (n *raft) runAsCandidate() {
	n.Lock()
	// Responses from an earlier election must not count in this one.
	n.votes.Drain()
	n.Unlock()

	n.requestVote()
	n.RLock()
	abstain := n.abstain
	n.RUnlock()
	n.votes.Push(&voteResponse{term: n.Term(), peer: n.ID(), granted: true, empty: abstain})

	votes := map[string]struct{}{}
	emptyVotes := map[string]struct{}{}

	for n.State() == Candidate {
		elect := n.electTimer()
		select {
		case <-n.entry.Ch():
			n.processAppendEntries()
		case <-n.resp.Ch():
			// Responses to a leadership we no longer hold.
			n.resp.Drain()
		case <-n.prop.Ch():
			// Proposals made to a leadership we no longer hold.
			n.dropProposals()
		case <-n.s.quitCh:
			return
		case <-n.quit:
			return
		case <-elect.C:
			n.startElection()
			return
		case <-n.votes.Ch():
			// A Drain may have emptied the queue after the signal.
			vresp, ok := n.votes.PopOne()
			if !ok {
				continue
			}
			n.RLock()
			term, csz := n.term, n.csz
			n.RUnlock()

			switch {
			case vresp.granted && vresp.term == term:
				// Voters become our followers, so track them.
				n.trackPeer(vresp.peer)
				if vresp.empty {
					emptyVotes[vresp.peer] = struct{}{}
				} else {
					votes[vresp.peer] = struct{}{}
				}
				// A quorum of voters with logs wins. Failing that, a vote
				// from every member wins too: the ones with empty logs
				// cannot hold anything we lack.
				if n.wonElection(len(votes)) || len(votes)+len(emptyVotes) == csz {
					n.switchToLeader()
					return
				}
			case vresp.term > term:
				// Someone is in a later term: forming a quorum now would
				// ignore them, so start over as a follower.
				n.Lock()
				n.debug("Abandoning candidacy: a vote reply carried term %d, ours is %d", vresp.term, n.term)
				n.term = vresp.term
				n.vote = noVote
				n.writeTermVote()
				n.lxfer = false
				n.stepdownLocked(noLeader)
				n.Unlock()
			}
		case <-n.reqs.Ch():
			if vr, ok := n.reqs.PopOne(); ok {
				n.processVoteRequest(vr)
			}
		}
	}
}

// handleVoteResponse queues a vote for the candidate loop. It has the
// subscription callback shape; only the message matters here.
func (n *raft) handleVoteResponse(_ transport.Subscription, _, _ string, msg []byte) {
	vr := decodeVoteResponse(msg)
	if vr == nil {
		n.error("Undecodable vote reply in group %q", n.group)
		return
	}
	n.debug("Vote reply in: %+v", vr)
	if state := n.State(); state != Candidate && state != Leader {
		n.debug("Vote reply arrived after candidacy ended, discarding")
		return
	}
	n.votes.Push(vr)
}

// processVoteRequest answers a candidate. A nil request is no error, so
// callers can pass whatever a queue gave them.
func (n *raft) processVoteRequest(vr *voteRequest) error {
	if vr == nil {
		return nil
	}
	n.answerVoteRequest(vr)
	return nil
}

// answerVoteRequest decides on a vote, persisting any change of term or
// vote before the answer leaves, sends the answer and returns it.
func (n *raft) answerVoteRequest(vr *voteRequest) *voteResponse {
	n.debug("Vote request in: %+v", vr)

	n.Lock()
	vresp := &voteResponse{term: n.term, peer: n.id, empty: n.pindex == 0}

	// A request from an older term may still be in flight; refuse it
	// without touching our state.
	if vr.term < n.term {
		n.Unlock()
		n.debug("Vote reply out: %+v to %q", vresp, vr.reply)
		n.sendReply(vr.reply, vresp.encode())
		return vresp
	}

	// A candidate of a term in which we already follow a leader has lost;
	// its request may just have been overtaken by the winner's first
	// append entry (a NATS client delivers each subscription on its own).
	ledTerm := vr.term == n.term && n.leader != noLeader && n.State() == Follower

	if vr.term > n.term {
		if state := n.State(); state != Follower {
			n.debug("Leaving state %s: a vote request carried term %d, ours is %d",
				strings.ToLower(state.String()), vr.term, n.term)
			n.stepdownLocked(noLeader)
		}
		n.cancelCatchup()
		n.term = vr.term
		n.vote = noVote
		n.writeTermVote()
	}

	voteOk := n.vote == noVote || n.vote == vr.candidate

	// A node still initializing (or scaling up) counts as having a log, so
	// that a candidate it votes for needs only a quorum, not everyone.
	if voteOk && vresp.empty && n.initializing {
		vresp.empty = false
	}
	// A node that may have lost acknowledged entries votes as if empty.
	if n.abstain {
		vresp.empty = true
	}

	candidateUpToDate := vr.lastTerm > n.pterm || (vr.lastTerm == n.pterm && vr.lastIndex >= n.pindex)
	if voteOk && candidateUpToDate {
		vresp.granted = true
		n.term = vr.term
		n.vote = vr.candidate
		n.writeTermVote()
		n.resetElectionTimeout()
	} else if n.vote == noVote && n.State() != Candidate && !ledTerm {
		// Our log is ahead and we have not voted: campaign early. A
		// candidate must not, or any rival could keep restarting it; nor
		// a follower of this term's leader, whom an early campaign would
		// only unseat (the reference does, and under reordered delivery
		// every new leader was unseated that way in turn).
		n.resetElect(randCampaignTimeout(&n.timing))
	}

	// The term may have moved; answer with the current one.
	vresp.term = n.term
	n.Unlock()

	n.debug("Vote reply out: %+v to %q", vresp, vr.reply)
	n.sendReply(vr.reply, vresp.encode())
	return vresp
}

// handleVoteRequest queues a candidate's request for the run loop.
func (n *raft) handleVoteRequest(_ transport.Subscription, _, reply string, msg []byte) {
	vr := decodeVoteRequest(msg, reply)
	if vr == nil {
		n.error("Undecodable vote request in group %q", n.group)
		return
	}
	n.reqs.Push(vr)
}

// requestVote votes for ourselves, persists that vote, then asks the group.
func (n *raft) requestVote() {
	n.Lock()
	if n.State() != Candidate {
		n.Unlock()
		return
	}
	n.vote = n.id
	n.writeTermVote()
	vr := voteRequest{term: n.term, lastTerm: n.pterm, lastIndex: n.pindex, candidate: n.id}
	subj, reply := n.vsubj, n.vreply
	n.Unlock()

	n.debug("Vote request out: %+v", vr)
	n.sendRPC(subj, reply, vr.encode())
}

// wonElection reports whether votes reach the quorum.
func (n *raft) wonElection(votes int) bool {
	return votes >= n.quorumNeeded()
}

// quorumNeeded is the quorum of the current cluster size.
func (n *raft) quorumNeeded() int {
	n.RLock()
	defer n.RUnlock()
	return n.qn
}
