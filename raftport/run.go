package raftport

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// randElectionTimeout spreads followers' election timeouts over
// [MinElectionTimeout, MaxElectionTimeout) so that they rarely campaign at
// once.
func randElectionTimeout(tm *Timing) time.Duration {
	if spread := tm.MaxElectionTimeout - tm.MinElectionTimeout; spread > 0 {
		return tm.MinElectionTimeout + rand.N(spread)
	}
	return tm.MinElectionTimeout
}

// The caller holds the node lock.
func (n *raft) resetElectionTimeout() {
	n.resetElect(randElectionTimeout(&n.timing))
}

func (n *raft) resetElectionTimeoutWithLock() {
	n.resetElectWithLock(randElectionTimeout(&n.timing))
}

// resetElect rearms the election timer to fire after et. Since Go 1.23 a
// Reset timer never delivers a firing of its previous setting, so a
// firing nobody consumed cannot trigger a stale election. The caller
// holds the node lock.
func (n *raft) resetElect(et time.Duration) {
	n.etlr = time.Now()
	if n.elect != nil {
		n.elect.Reset(et)
	} else {
		n.elect = time.NewTimer(et)
	}
}

func (n *raft) resetElectWithLock(et time.Duration) {
	n.Lock()
	defer n.Unlock()
	n.resetElect(et)
}

// roleLoops is the loop each live role runs until the role changes.
var roleLoops = map[RaftState]func(*raft){
	Follower:  (*raft).runAsFollower,
	Candidate: (*raft).runAsCandidate,
	Leader:    (*raft).runAsLeader,
}

// run drives the node for its whole life: it hands the state machine the
// end-of-replay marker, runs the loop of the current role until the node
// closes, then tears the node down.
func (n *raft) run() {
	defer n.wg.Done()
	// A replay may have paused applies to bound the queue; the state
	// machine is reading now. nil tells it that replay and restore are
	// done.
	n.ResumeApply()
	n.apply.Push(nil)
	for st := n.State(); st != Closed; st = n.State() {
		if loop := roleLoops[st]; loop != nil {
			loop(n)
		}
	}
	n.teardown.Do(n.finishShutdown)
}

// finishShutdown releases what the node holds: its subscriptions, its
// queues, its registration with the host and its log (deleted when the
// node was deleted). It runs once, at the end of run or, for a node that
// never ran, in Stop.
func (n *raft) finishShutdown() {
	n.Lock()
	defer n.Unlock()

	// Our catchup streams read the log: halt them before it closes.
	n.stopCatchupStreams()
	n.releaseTransport()
	n.reqs.Drain()
	n.votes.Drain()
	n.prop.Drain()
	n.entry.Drain()
	n.resp.Drain()
	n.apply.Drain()
	if n.elect != nil {
		n.elect.Stop()
	}
	n.s.unregisterRaftNode(n.group)

	if n.wal != nil {
		release := n.wal.Close
		if n.deleted {
			release = n.wal.Delete
		}
		if err := release(); err != nil {
			n.debug("Closing the log: %v", err)
		}
	}
	n.debug("Shutdown")
}

// logf formats a message the reference's way, "RAFT [<id> - <group>] ...",
// so that logs of both implementations read alike.
func (n *raft) logf(format string, args []any) string {
	return fmt.Sprintf("RAFT [%s - %s] ", n.id, n.group) + fmt.Sprintf(format, args...)
}

// debug logs only when debugging was asked for, since a node logs at
// every step of the protocol.
func (n *raft) debug(format string, args ...any) {
	if n.debugOn.Load() {
		n.s.log.Debug(n.logf(format, args))
	}
}

// warnInterval is how long an identical warning stays quiet once logged.
const warnInterval = time.Second

// warn logs a warning at most once per warnInterval, as the reference's
// rate-limited warnings do: a node in trouble repeats itself many times a
// second.
func (n *raft) warn(format string, args ...any) {
	msg := n.logf(format, args)
	if n.warnedLately(msg, time.Now()) {
		return
	}
	n.s.log.Warn(msg)
}

// warnedLately reports whether msg was logged within warnInterval of now,
// and otherwise records it as logged now. Expired messages are forgotten
// so the record does not grow with every distinct message ever logged.
func (n *raft) warnedLately(msg string, now time.Time) bool {
	n.warnMu.Lock()
	defer n.warnMu.Unlock()
	if at, ok := n.warned[msg]; ok && now.Sub(at) < warnInterval {
		return true
	}
	for m, at := range n.warned {
		if now.Sub(at) >= warnInterval {
			delete(n.warned, m)
		}
	}
	if n.warned == nil {
		n.warned = make(map[string]time.Time)
	}
	n.warned[msg] = now
	return false
}

func (n *raft) error(format string, args ...any) {
	n.s.log.Error(n.logf(format, args))
}

func (n *raft) electTimer() *time.Timer {
	return rlocked(n, func() *time.Timer { return n.elect })
}

func (n *raft) IsObserver() bool {
	return rlocked(n, func() bool { return n.observer })
}

// SetObserver makes the node an observer, which replicates but never
// campaigns, or makes it a voter again.
func (n *raft) SetObserver(isObserver bool) {
	n.setObserver(isObserver, extUndetermined)
}

func (n *raft) setObserver(isObserver bool, extSt extensionState) {
	n.Lock()
	n.setObserverLocked(isObserver, extSt)
	n.Unlock()
}

// setObserverLocked switches observer mode. Leaving it rearms the election
// timer, which an observer keeps at ObserverModeInterval, so the node can
// campaign again soon. The caller holds the node lock.
func (n *raft) setObserverLocked(isObserver bool, extSt extensionState) {
	leaving := n.observer && !isObserver
	n.observer, n.extSt = isObserver, extSt
	if leaving {
		n.resetElectionTimeout()
	}
}

// processAppendEntries handles every queued append entry. Entries are
// always taken off the queue; a closed node or one out of resources drops
// them, and the leader resends what we did not store.
func (n *raft) processAppendEntries() {
	batch := n.entry.Pop()
	defer n.entry.Recycle(&batch)
	if why := n.entryRefusal(); why != "" {
		n.debug("Inbound entries dropped: %s", why)
		return
	}
	for _, ae := range batch {
		n.processAppendEntry(ae, ae.sub)
	}
}

// entryRefusal says why inbound entries cannot be handled now, "" when
// they can.
func (n *raft) entryRefusal() string {
	if n.isClosed() {
		return "node is shut down"
	}
	if n.outOfResources() {
		return "storage is out of resources"
	}
	return ""
}

// runAsFollower waits for append entries and vote requests until the node
// changes role or stops. When the election timer fires it becomes a
// candidate, unless it is out of resources, an observer or catching up.
func (n *raft) runAsFollower() {
	for n.State() == Follower && n.followerStep(n.electTimer()) {
	}
}

// followerStep waits for one event of a follower and handles it; false
// means the loop ends (the node stops or campaigns).
func (n *raft) followerStep(elect *time.Timer) bool {
	select {
	case <-n.s.quitCh:
		return false
	case <-n.quit:
		return false
	case <-n.inbox:
		return n.serveInbox(Follower, followerInbox)
	case <-elect.C:
		return !n.electionDue()
	}
}

// electionDue handles the election timer firing on a follower: it starts
// an election and reports true, or rearms the timer when the node must
// stay put (out of resources, an observer, or catching up).
func (n *raft) electionDue() bool {
	if n.outOfResources() {
		n.debug("Staying put instead of campaigning: storage is out of resources")
		n.resetElectionTimeoutWithLock()
		return false
	}
	if n.IsObserver() {
		n.debug("Staying put instead of campaigning: observers never run")
		n.resetElectWithLock(n.timing.ObserverModeInterval)
		return false
	}
	if !n.isCatchingUp() {
		n.startElection()
		return true
	}
	n.debug("Staying put instead of campaigning: catchup is in progress")
	n.Lock()
	defer n.Unlock()
	if n.catchupStalled() {
		n.cancelCatchup()
	}
	n.resetElectionTimeout()
	return false
}

// Recovery counters.

// NodeStats counts what a node did to get past lost or late messages.
// The counts start at zero when the node is created.
//
// As a follower: CatchupsRequested counts the catchups it asked for (a
// gap in its log, or a stalled catchup), LiveHeld the live entries it
// dropped while a catchup ran. As a leader: CatchupStreams counts the
// catchup streams it started, EntriesResent the entries it re-sent from
// its log to fill a follower's short gap instead. Elections counts the
// campaigns it started, ProposalsDropped the proposals it discarded
// because it lost leadership.
type NodeStats struct {
	CatchupsRequested, LiveHeld   uint64
	CatchupStreams, EntriesResent uint64
	Elections, ProposalsDropped   uint64
}

// appendTrack is the append shell's per-node state: the counters behind
// Stats, and the live entries held back since the log last grew
// (protocol.Reask).
type appendTrack struct {
	asked, streams, resent, held, elections, dropped atomic.Uint64

	heldRun int    // live entries held since the log reached heldAt
	heldAt  uint64 // lock held for both
}

// Stats reports the node's recovery counters.
func (n *raft) Stats() NodeStats {
	t := &n.ap
	return NodeStats{
		CatchupsRequested: t.asked.Load(), CatchupStreams: t.streams.Load(),
		EntriesResent: t.resent.Load(), LiveHeld: t.held.Load(),
		Elections: t.elections.Load(), ProposalsDropped: t.dropped.Load(),
	}
}

// startElection starts a campaign, counting it when it began a term.
func (n *raft) startElection() {
	before := n.Term()
	n.switchToCandidate()
	if n.Term() > before {
		n.ap.elections.Add(1)
	}
}

// dropProposals discards queued proposals: leadership was lost, and their
// proposers retry with the next leader.
func (n *raft) dropProposals() {
	n.ap.dropped.Add(uint64(n.prop.Drain()))
}
