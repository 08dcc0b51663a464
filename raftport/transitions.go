package raftport

import (
	"time"
)

// forwardProgressPolls and forwardProgressPoll bound how long a health
// check waits to see a follower's applies catch up with its commits.
const (
	forwardProgressPolls = 10
	forwardProgressPoll  = time.Millisecond
)

// Leader reports whether we lead the group and have applied everything of
// our own term, so the upper layer may act as leader. Lock free.
func (n *raft) Leader() bool {
	if n == nil {
		return false
	}
	return n.leaderState.Load()
}

// LeaderSince is when we became an up-to-date leader, nil when we are not.
func (n *raft) LeaderSince() *time.Time {
	if n == nil {
		return nil
	}
	return n.leaderSince.Load()
}

// stepdown turns us into a follower of newLeader. It takes the lock.
func (n *raft) stepdown(newLeader string) {
	n.Lock()
	defer n.Unlock()
	n.stepdownLocked(newLeader)
}

// stepdownLocked turns us into a follower of newLeader.
// The caller holds the node lock.
func (n *raft) stepdownLocked(newLeader string) {
	n.debug("Giving up leadership")
	n.switchToFollowerLocked(newLeader)
}

// isCatchingUp reports whether a catchup from the leader is under way.
func (n *raft) isCatchingUp() bool {
	n.RLock()
	defer n.RUnlock()
	return n.catchup != nil
}

// isCurrent reports whether the upper layer has applied everything the
// log committed, and, for a follower, whether the leader was heard from
// lately. With includeForwardProgress a lagging node still counts as
// current if its applies are closing the gap, which may take up to about
// ten milliseconds to see, with the lock released while waiting.
// The caller holds the node lock.
func (n *raft) isCurrent(includeForwardProgress bool) bool {
	if n.State() == Closed {
		n.debug("Behind: node is shut down")
		return false
	}
	// Index 0 is never committed, so nothing has been agreed on yet.
	if n.commit == 0 {
		n.debug("Behind: nothing committed yet")
		return false
	}

	// Having warned about falling behind, say so when it is over.
	clearBehind := func() {
		if n.hcbehind {
			n.warn("Caught up again, health check passes")
			n.hcbehind = false
		}
	}

	if n.State() == Leader {
		clearBehind()
		return true
	}

	if n.leader != noLeader && n.leader != n.id && n.catchup == nil {
		ps := n.peers[n.leader]
		if ps == nil || time.Since(ps.ts) > 2*n.timing.HeartbeatInterval {
			n.debug("Behind: leader has been silent too long")
			return false
		}
	}
	if cs := n.catchup; cs != nil {
		// Applies may match commits, but the commits themselves are behind.
		n.debug("Behind: catchup running, at %d of %d", n.pindex, cs.cindex)
		return false
	}
	if n.paused && n.hcommit > n.commit {
		n.debug("Behind: apply is paused, commit %d while %d is held", n.commit, n.hcommit)
		return false
	}

	if n.commit == n.applied {
		clearBehind()
		return true
	}
	if !includeForwardProgress {
		return false
	}

	startGap := n.commit - n.applied
	for range forwardProgressPolls {
		n.Unlock()
		time.Sleep(forwardProgressPoll)
		n.Lock()
		if n.State() == Closed {
			n.debug("Node shut down while checking health, reporting behind")
			return false
		}
		if n.commit-n.applied < startGap {
			clearBehind()
			return true
		}
	}

	n.hcbehind = true
	n.warn("Health check lags: committed %d, applied %d", n.commit, n.applied)
	return false
}

// Current reports whether we lead, or follow and are up to date.
func (n *raft) Current() bool {
	if n == nil {
		return false
	}
	n.Lock()
	defer n.Unlock()
	return n.isCurrent(false)
}

// Healthy is Current, but also accepts a follower whose applies are
// visibly catching up.
func (n *raft) Healthy() bool {
	if n == nil {
		return false
	}
	n.Lock()
	defer n.Unlock()
	return n.isCurrent(true)
}

// HadPreviousLeader reports whether the group ever had a leader.
func (n *raft) HadPreviousLeader() bool {
	return n.pleader.Load()
}

// GroupLeader is the node ID of the current leader, or "" when none.
func (n *raft) GroupLeader() string {
	if n == nil {
		return noLeader
	}
	n.RLock()
	defer n.RUnlock()
	return n.leader
}

// Leaderless is the lock-free check for a leader, for hot paths.
func (n *raft) Leaderless() bool {
	if n == nil {
		return true
	}
	return !n.hasleader.Load()
}

// updateLeadChange publishes the latest leadership state on leadc. Only
// the newest value matters to the reader, so a stale unread one is
// replaced rather than blocking us.
// The caller holds the node lock.
func (n *raft) updateLeadChange(isLeader bool) {
	for {
		select {
		case n.leadc <- isLeader:
			return
		default:
		}
		// Full: drop the unread value. The reader may have taken it in
		// the meantime, in which case the send is simply retried.
		select {
		case <-n.leadc:
		default:
		}
	}
}

// switchState moves to state unless the node is closed, and reports
// whether leadership changed hands. Leaving the leader state throws away
// the leader's queues; both directions persist term and vote.
// The caller holds the node lock.
func (n *raft) switchState(state RaftState) bool {
	var prev RaftState
	for {
		prev = n.State()
		if prev == Closed {
			return false
		}
		// Stop or Delete may change the state concurrently; retry then.
		if n.state.CompareAndSwap(int32(prev), int32(state)) {
			break
		}
	}

	n.resetElectionTimeout()

	leadChange := false
	switch {
	case prev == Leader && state != Leader:
		leadChange = true
		n.updateLeadChange(false)
		n.resp.Drain()
		n.dropProposals()
	case state == Leader && prev != Leader:
		// The upward signal waits until the new leader has applied its
		// first entries (see switchToLeader and aflr).
		leadChange = true
		if len(n.pae) > 0 {
			n.pae = make(map[uint64]*appendEntry)
		}
	}

	n.writeTermVote()
	return leadChange
}

// switchToFollower follows leader ("" when unknown). It takes the lock.
func (n *raft) switchToFollower(leader string) {
	n.Lock()
	defer n.Unlock()
	n.switchToFollowerLocked(leader)
}

// switchToFollowerLocked follows leader ("" when unknown).
// The caller holds the node lock.
func (n *raft) switchToFollowerLocked(leader string) {
	if n.State() == Closed {
		return
	}
	n.debug("Now a follower")

	n.aflr = 0
	n.leaderState.Store(false)
	n.leaderSince.Store(nil)
	n.lxfer = false
	// Acks of one term say nothing about the next.
	if len(n.acks) > 0 {
		n.acks = make(map[uint64]map[string]struct{})
	}
	n.updateLeader(leader)
	n.switchState(Follower)
}

// switchToCandidate starts a new term and an election, unless we may not
// lead: observers, paused nodes and nodes that have not processed every
// commit (e.g. a snapshot still being applied) retry later instead.
func (n *raft) switchToCandidate() {
	if n.State() == Closed {
		return
	}
	n.Lock()
	defer n.Unlock()

	if n.observer || n.paused || n.processed < n.commit {
		n.resetElect(n.timing.MinElectionTimeout / 4)
		return
	}

	if n.State() != Candidate {
		n.debug("Now a candidate")
	} else if n.lostQuorumLocked() && time.Since(n.llqrt) > 2*n.timing.LostQuorumInterval {
		// Still a candidate after a failed election: tell the upper layer
		// we are without quorum, at most once per two lost-quorum intervals.
		n.updateLeadChange(false)
		n.llqrt = time.Now()
	}
	n.term++
	n.updateLeader(noLeader)
	n.switchState(Candidate)
}

// switchToLeader takes leadership of the current term. Leader() stays
// false until the peer-state entry sent here (our no-op of the term) is
// applied, so the upper layer never acts on a log older than the last
// leader's.
func (n *raft) switchToLeader() {
	if n.State() == Closed {
		return
	}
	n.Lock()
	defer n.Unlock()

	n.debug("Now the leader")
	n.lxfer = false
	n.updateLeader(n.id)
	n.switchState(Leader)

	n.sendPeerState()
	n.aflr = n.pindex
}
