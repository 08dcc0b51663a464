package raftport

import (
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
)

// The node's role changes in two layers. enter carries out what
// protocol.Enter asks of a switch to a role (the resets, whom we follow,
// the new term, the announcement of a new leadership); switchState swaps
// the role itself and carries out the effects of gaining or losing the
// leadership. switchToFollower, switchToCandidate and switchToLeader are
// the entry points, the first two taking the lock themselves.

// role is the node's state as the protocol rules name it.
func (n *raft) role() protocol.Role { return protocol.Role(n.State()) }

// roleNews is what the debug log says on entering a role.
var roleNews = [...]string{Follower: "Now a follower", Candidate: "Now a candidate", Leader: "Now the leader", Closed: "Closed"}

// enter moves the node to role to, following named when it becomes a
// follower, and reports whether the node was still open to move.
// The caller holds the node lock.
func (n *raft) enter(to RaftState, named string) bool {
	tr := protocol.Enter(n.role(), protocol.Role(to))
	if tr.Refused {
		return false
	}
	if tr.ClearLeaderMarks {
		n.aflr = 0
		n.dropLeaderFlags()
	}
	n.lxfer = n.lxfer && !tr.ClearTransfer
	if tr.ClearAcks && len(n.acks) > 0 {
		n.acks = make(map[uint64]map[string]struct{})
	}
	if tr.NextTerm {
		n.term++
	}
	leader := named
	switch tr.Leader {
	case protocol.LeaderNone:
		leader = noLeader
	case protocol.LeaderSelf:
		leader = n.id
	}
	n.debug("%s in term %d", roleNews[to], n.term)
	n.updateLeader(leader)
	n.switchState(to)
	if tr.Announce {
		// Our peer state is the term's first entry, the no-op of Raft:
		// Leader() stays false until it is applied, so that the upper
		// layer never acts on a log older than the last leader's.
		n.sendPeerState()
		n.aflr = n.pindex
	}
	return true
}

// dropLeaderFlags clears the lock-free view of an up-to-date leadership.
func (n *raft) dropLeaderFlags() {
	n.leaderState.Store(false)
	n.leaderSince.Store(nil)
}

// takeState swaps state in unless the node is closed, retrying while Stop
// or Delete race with it, and returns the state it replaced.
func (n *raft) takeState(state RaftState) (RaftState, bool) {
	for {
		prev := n.State()
		if prev == Closed {
			return prev, false
		}
		if n.state.CompareAndSwap(int32(prev), int32(state)) {
			return prev, true
		}
	}
}

// switchState moves to state unless the node is closed, carries out the
// effects protocol.Enter gives for gaining or losing the leadership, and
// reports whether leadership changed hands. The upward signal of a gained
// leadership waits until its first entries are applied (see enter).
// The caller holds the node lock.
func (n *raft) switchState(state RaftState) bool {
	prev, ok := n.takeState(state)
	if !ok {
		return false
	}
	tr := protocol.Enter(protocol.Role(prev), protocol.Role(state))
	if tr.ResetTimer {
		n.resetElectionTimeout()
	}
	if tr.SignalLost {
		n.updateLeadChange(false)
	}
	if tr.DropLeaderQueues {
		n.resp.Drain()
		n.dropProposals()
		n.outcomes.leadershipLost()
		n.batches.release()
	}
	if tr.DropPending && len(n.pae) > 0 {
		n.pae = make(map[uint64]*appendEntry)
	}
	if tr.PersistTermVote {
		n.writeTermVote()
	}
	return tr.LeadershipChanged
}

// switchToFollower follows leader ("" when unknown). It takes the lock.
func (n *raft) switchToFollower(leader string) {
	n.underLock(func() { n.switchToFollowerLocked(leader) })
}

// switchToFollowerLocked follows leader ("" when unknown).
// The caller holds the node lock.
func (n *raft) switchToFollowerLocked(leader string) { n.enter(Follower, leader) }

// stepdown turns us into a follower of newLeader. It takes the lock.
func (n *raft) stepdown(newLeader string) {
	n.underLock(func() { n.stepdownLocked(newLeader) })
}

// stepdownLocked turns us into a follower of newLeader.
// The caller holds the node lock.
func (n *raft) stepdownLocked(newLeader string) {
	n.debug("Giving up leadership")
	n.switchToFollowerLocked(newLeader)
}

// switchToCandidate starts a new term and an election when
// protocol.StandForElection allows it, or else retries a quarter of the
// minimum election timeout later. It takes the lock.
func (n *raft) switchToCandidate() { n.underLock(n.standForElection) }

// standForElection is switchToCandidate under the lock.
func (n *raft) standForElection() {
	role := n.role()
	if role == protocol.Closed {
		return
	}
	repeat := role == protocol.Candidate
	c := protocol.StandForElection(protocol.Standing{
		Observer: n.observer, Paused: n.paused, Processed: n.processed, Commit: n.commit,
		Repeat: repeat, LostQuorum: repeat && n.lostQuorumLocked(), SinceSignal: time.Since(n.llqrt),
	}, n.timing.LostQuorumInterval)
	if c.Retry {
		n.resetElect(n.timing.MinElectionTimeout / 4)
		return
	}
	if c.SignalNoQuorum {
		// Tell the upper layer we are without quorum, so it can alert.
		n.updateLeadChange(false)
		n.llqrt = time.Now()
	}
	n.enter(Candidate, noLeader)
}

// switchToLeader takes leadership of the current term. It takes the lock.
func (n *raft) switchToLeader() {
	n.underLock(func() { n.enter(Leader, noLeader) })
}

// updateLeadChange publishes the latest leadership state on leadc. Only
// the newest value matters to the reader, so unread values are dropped
// to make room rather than blocking us.
// The caller holds the node lock.
func (n *raft) updateLeadChange(isLeader bool) {
	for !offer(n.leadc, isLeader) {
		// The reader may take a value meanwhile; then the offer succeeds.
		discardOne(n.leadc)
	}
}

// offer sends v on ch if that does not block.
func offer[T any](ch chan T, v T) (sent bool) {
	select {
	case ch <- v:
		sent = true
	default:
	}
	return sent
}

// discardOne takes one value off ch if one is there.
func discardOne[T any](ch chan T) {
	select {
	case <-ch:
	default:
	}
}

// Leader reports whether we lead the group and have applied everything of
// our own term, so the upper layer may act as leader. Lock free.
func (n *raft) Leader() bool { return n != nil && n.leaderState.Load() }

// Leaderless is the lock-free check for a leader, for hot paths.
func (n *raft) Leaderless() bool { return n == nil || !n.hasleader.Load() }

// HadPreviousLeader reports whether the group ever had a leader.
func (n *raft) HadPreviousLeader() bool { return n.pleader.Load() }

// LeaderSince is when we became an up-to-date leader, nil when we are not.
func (n *raft) LeaderSince() *time.Time {
	if n != nil {
		return n.leaderSince.Load()
	}
	return nil
}

// GroupLeader is the node ID of the current leader, or "" when none.
func (n *raft) GroupLeader() string {
	if n != nil {
		return rlocked(n, func() string { return n.leader })
	}
	return noLeader
}

// isCatchingUp reports whether a catchup from the leader is under way.
func (n *raft) isCatchingUp() bool { return rlocked(n, func() bool { return n.catchup != nil }) }

// Current reports whether we lead, or follow and are up to date.
func (n *raft) Current() bool { return n != nil && n.checkHealth(false) }

// Healthy is Current, but also accepts a follower whose applies are
// visibly catching up.
func (n *raft) Healthy() bool { return n != nil && n.checkHealth(true) }

func (n *raft) checkHealth(waitForProgress bool) (ok bool) {
	n.underLock(func() { ok = n.isCurrent(waitForProgress) })
	return ok
}

// Applies trailing commits are watched this many times, this far apart,
// for the gap to shrink.
const (
	forwardProgressPolls = 10
	forwardProgressPoll  = time.Millisecond
)

// healthView is what protocol.JudgeHealth looks at.
// The caller holds the node lock.
func (n *raft) healthView() protocol.HealthView {
	h := protocol.HealthView{
		Role: n.role(), Commit: n.commit, Applied: n.applied, HeldCommit: n.hcommit,
		Paused: n.paused, CatchingUp: n.catchup != nil, Heartbeat: n.timing.HeartbeatInterval,
		FollowsOther: n.leader != noLeader && n.leader != n.id,
	}
	if ps := n.peers[n.leader]; ps != nil {
		h.LeaderSeen, h.LeaderAge = true, time.Since(ps.ts)
	}
	return h
}

// isCurrent reports whether the upper layer has applied everything the log
// committed and, for a follower, whether the leader was heard from lately
// (protocol.JudgeHealth). With includeForwardProgress a follower that only
// trails in applies still counts when they are closing the gap, which
// takes up to about ten milliseconds to see, with the lock released while
// waiting. The caller holds the node lock.
func (n *raft) isCurrent(includeForwardProgress bool) bool {
	health, why := protocol.JudgeHealth(n.healthView())
	if health == protocol.Lagging && includeForwardProgress {
		health, why = n.watchApplies()
	}
	if health != protocol.Current {
		n.logBehind(why)
		return false
	}
	if n.hcbehind {
		// Having warned about falling behind, say so when it is over.
		n.warn("Caught up again, health check passes")
		n.hcbehind = false
	}
	return true
}

// watchApplies polls a lagging node for its applies to close the gap to
// its commits. The caller holds the node lock, which is released between
// polls.
func (n *raft) watchApplies() (protocol.Health, protocol.Why) {
	startGap := n.commit - n.applied
	for range forwardProgressPolls {
		n.Unlock()
		time.Sleep(forwardProgressPoll)
		n.Lock()
		switch {
		case n.State() == Closed:
			return protocol.Behind, protocol.WhyClosed
		case protocol.ApplyProgress(startGap, n.commit-n.applied):
			return protocol.Current, protocol.WhyNot
		}
	}
	n.hcbehind = true
	n.warn("Health check lags: committed %d, applied %d", n.commit, n.applied)
	return protocol.Lagging, protocol.WhyApplying
}

// logBehind says in the debug log why a health check failed.
// The caller holds the node lock.
func (n *raft) logBehind(why protocol.Why) {
	switch why {
	case protocol.WhyCatchingUp:
		// Applies may match commits, but the commits themselves are behind.
		n.debug("Behind: catchup running, at %d of %d", n.pindex, n.catchup.cindex)
	case protocol.WhyPaused:
		n.debug("Behind: apply is paused, commit %d while %d is held", n.commit, n.hcommit)
	case protocol.WhyApplying:
		n.debug("Behind: applied %d of %d committed", n.applied, n.commit)
	default:
		n.debug("Behind: %s", why)
	}
}
