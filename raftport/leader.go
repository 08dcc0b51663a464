package raftport

import (
	"errors"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Proposal batching limits: one append entry carries at most this many
// bytes or entries, so a burst of proposals does not build one huge message.
const (
	maxProposalBatchBytes   = 256 * 1024
	maxProposalBatchEntries = 512
)

// runAsLeader is the leader's loop: it batches proposals into append
// entries, counts acknowledgements, keeps followers alive with heartbeats
// and steps down when it loses its quorum or meets a later term.
func (n *raft) runAsLeader() {
	if n.State() == Closed {
		return
	}
	release, ok := n.listenForForwards()
	if !ok {
		return
	}
	defer release()
	beat, check := time.NewTicker(n.timing.HeartbeatInterval), time.NewTicker(n.timing.LostQuorumCheck)
	defer func() {
		beat.Stop()
		check.Stop()
	}()
	for n.State() == Leader && n.leaderStep(beat.C, check.C) {
	}
}

// forwardRoute is a subject followers forward to the leader.
type forwardRoute struct {
	subject, what string
	handle        msgHandler
}

// listenForForwards subscribes to what followers forward. Only the leader
// listens, and stops as soon as it stops leading, so that followers reach
// the next leader. It returns how to stop listening, or false, having
// stepped down, when a subscription failed.
func (n *raft) listenForForwards() (release func(), ok bool) {
	n.Lock()
	defer n.Unlock()
	var subs []transport.Subscription
	drop := func() {
		for _, sub := range subs {
			n.unsubscribe(sub)
		}
	}
	routes := []forwardRoute{
		{n.psubj, "proposals", n.handleForwardedProposal},
		{n.rpsubj, "peer removals", n.handleForwardedRemovePeerProposal},
	}
	for _, r := range routes {
		sub, err := n.subscribe(r.subject, r.handle)
		if err == nil {
			subs = append(subs, sub)
			continue
		}
		n.warn("Could not listen for %s from followers: %v", r.what, err)
		drop()
		n.stepdownLocked(noLeader)
		return nil, false
	}
	return func() { n.underLock(drop) }, true
}

// leaderStep waits for one event of the leadership and handles it. It
// reports false when the leader loop must end: the node stops, lost its
// quorum or met a later term.
func (n *raft) leaderStep(heartbeat, quorumCheck <-chan time.Time) bool {
	select {
	case <-n.quit:
		return false
	case <-n.s.quitCh:
		return false
	case <-n.inbox:
		return n.serveInbox(Leader, leaderInbox)
	case <-heartbeat:
		n.underLock(n.batches.releaseIfIdle)
		if n.notActive() {
			n.sendHeartbeat()
		}
	case <-quorumCheck:
		return !n.lostQuorum() || n.giveUp()
	}
	return true
}

// giveUp steps down, having lost the quorum, and ends the leader loop.
func (n *raft) giveUp() bool {
	n.stepdown(noLeader)
	return false
}

// countResponses hands every queued append-entry response to the commit
// rules, then follows up on what they committed once: one heartbeat for
// the lot, not one per response that moved the commit.
func (n *raft) countResponses() {
	ars := n.resp.Pop()
	var committed bool
	var removed error
	for _, ar := range ars {
		c, err := n.answerResponse(ar)
		committed = committed || c
		if errors.Is(err, errNodeRemoved) {
			removed = err
		}
	}
	n.resp.Recycle(&ars)
	n.afterCommit(committed, removed)
}

// Quorum reports whether enough members were heard from recently to form
// a quorum (protocol.HeardQuorum). It is also asked of former leaders.
func (n *raft) Quorum() bool {
	return rlocked(n, func() bool {
		return protocol.HeardQuorum(n.members(), n.timing.LostQuorumInterval, n.qn)
	})
}

func (n *raft) lostQuorum() bool { return rlocked(n, n.lostQuorumLocked) }

// lostQuorumLocked is the leader's decision to give up, protocol.LostQuorum.
// The caller holds the node lock.
func (n *raft) lostQuorumLocked() bool {
	return protocol.LostQuorum(protocol.QuorumWatch{
		Members: n.members(), Window: n.timing.LostQuorumInterval, Quorum: n.qn,
		Unprocessed: n.resp.Len(), Grew: !n.lsut.IsZero(), SinceGrowth: time.Since(n.lsut),
	})
}

// notActive reports whether the leader sent nothing for a heartbeat
// interval, so that followers need a heartbeat to keep trusting it.
func (n *raft) notActive() bool {
	return rlocked(n, func() bool { return time.Since(n.active) > n.timing.HeartbeatInterval })
}

// Term is the node's current term.
func (n *raft) Term() uint64 { return rlocked(n, func() uint64 { return n.term }) }
