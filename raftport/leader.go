package raftport

import (
	"time"
)

// Proposal batching limits: one append entry carries at most this many
// bytes or entries, so a burst of proposals does not build one huge message.
const (
	maxProposalBatchBytes   = 256 * 1024
	maxProposalBatchEntries = 512
)

// runAsLeader is the leader's loop: it batches proposals into append
// entries, counts acknowledgements, keeps followers alive with heartbeats
// and steps down when it loses its quorum or meets a higher term.
func (n *raft) runAsLeader() {
	if n.State() == Closed {
		return
	}

	n.Lock()
	fsub, err := n.subscribe(n.psubj, n.handleForwardedProposal)
	if err != nil {
		n.warn("Could not listen for proposals from followers: %v", err)
		n.stepdownLocked(noLeader)
		n.Unlock()
		return
	}
	rpsub, err := n.subscribe(n.rpsubj, n.handleForwardedRemovePeerProposal)
	if err != nil {
		n.warn("Could not listen for peer removals from followers: %v", err)
		n.unsubscribe(fsub)
		n.stepdownLocked(noLeader)
		n.Unlock()
		return
	}
	// Only the leader takes forwarded proposals; drop the interest as soon
	// as we stop leading so followers forward to the next leader.
	defer func() {
		n.Lock()
		n.unsubscribe(fsub)
		n.unsubscribe(rpsub)
		n.Unlock()
	}()
	n.Unlock()

	hb := time.NewTicker(n.timing.HeartbeatInterval)
	defer hb.Stop()
	lq := time.NewTicker(n.timing.LostQuorumCheck)
	defer lq.Stop()

	for n.State() == Leader {
		select {
		case <-n.s.quitCh:
			return
		case <-n.quit:
			return
		case <-n.resp.Ch():
			ars := n.resp.Pop()
			for _, ar := range ars {
				n.processAppendEntryResponse(ar)
			}
			n.resp.Recycle(&ars)
		case <-n.prop.Ch():
			n.sendProposals()
		case <-hb.C:
			if n.notActive() {
				n.sendHeartbeat()
			}
		case <-lq.C:
			if n.lostQuorum() {
				n.stepdown(noLeader)
				return
			}
		case <-n.votes.Ch():
			vresp, ok := n.votes.PopOne()
			if !ok {
				continue
			}
			if vresp.term > n.Term() {
				n.stepdown(noLeader)
				return
			}
		case <-n.reqs.Ch():
			if voteReq, ok := n.reqs.PopOne(); ok {
				if err := n.processVoteRequest(voteReq); err != nil {
					n.debug("Error processing vote request: %v", err)
				}
			}
		case <-n.entry.Ch():
			n.processAppendEntries()
		}
	}
}

// Quorum reports whether enough peers were heard from recently to form a
// quorum. It is also asked of former leaders.
func (n *raft) Quorum() bool {
	n.RLock()
	defer n.RUnlock()
	return n.recentPeersReachQuorum()
}

// recentPeersReachQuorum counts us plus every peer heard from within the
// lost-quorum interval. Lock held.
func (n *raft) recentPeersReachQuorum() bool {
	nc := 0
	for id, peer := range n.peers {
		if id == n.id || time.Since(peer.ts) < n.timing.LostQuorumInterval {
			if nc++; nc >= n.qn {
				return true
			}
		}
	}
	return false
}

func (n *raft) lostQuorum() bool {
	n.RLock()
	defer n.RUnlock()
	return n.lostQuorumLocked()
}

// lostQuorumLocked is the leader's decision to give up. Unprocessed
// responses or a recent scale-up would make a healthy leader look
// isolated, so either defers the decision. Lock held.
func (n *raft) lostQuorumLocked() bool {
	if n.resp.Len() != 0 || (!n.lsut.IsZero() && time.Since(n.lsut) < n.timing.LostQuorumInterval) {
		return false
	}
	return !n.recentPeersReachQuorum()
}

// notActive reports whether the leader sent nothing for a heartbeat
// interval, so that followers need a heartbeat to keep trusting it.
func (n *raft) notActive() bool {
	n.RLock()
	defer n.RUnlock()
	return time.Since(n.active) > n.timing.HeartbeatInterval
}

// Term is the node's current term.
func (n *raft) Term() uint64 {
	n.RLock()
	defer n.RUnlock()
	return n.term
}
