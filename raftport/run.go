package raftport

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// randElectionTimeout spreads followers' election timeouts over
// [MinElectionTimeout, MaxElectionTimeout) so that they rarely campaign at
// once.
func randElectionTimeout(tm *Timing) time.Duration {
	spread := tm.MaxElectionTimeout - tm.MinElectionTimeout
	if spread <= 0 {
		return tm.MinElectionTimeout
	}
	return tm.MinElectionTimeout + rand.N(spread)
}

// The caller holds the node lock.
func (n *raft) resetElectionTimeout() {
	n.resetElect(randElectionTimeout(&n.timing))
}

func (n *raft) resetElectionTimeoutWithLock() {
	n.resetElectWithLock(randElectionTimeout(&n.timing))
}

// resetElect rearms the election timer to fire after et, discarding a
// firing that nobody consumed yet so it cannot trigger a stale election.
// The caller holds the node lock.
func (n *raft) resetElect(et time.Duration) {
	n.etlr = time.Now()
	if n.elect == nil {
		n.elect = time.NewTimer(et)
		return
	}
	if !n.elect.Stop() {
		select {
		case <-n.elect.C:
		default:
		}
	}
	n.elect.Reset(et)
}

func (n *raft) resetElectWithLock(et time.Duration) {
	n.Lock()
	defer n.Unlock()
	n.resetElect(et)
}

// run drives the node for its whole life: it hands the state machine the
// end-of-replay marker, runs the loop of the current role until the node
// closes, then tears the node down.
func (n *raft) run() {
	defer n.wg.Done()

	// A replay may have paused applies to bound the queue; the state
	// machine is reading now.
	n.ResumeApply()
	// nil tells the state machine that replay and restore are done.
	n.apply.Push(nil)

	for {
		switch n.State() {
		case Follower:
			n.runAsFollower()
		case Candidate:
			n.runAsCandidate()
		case Leader:
			n.runAsLeader()
		case Closed:
			n.teardown.Do(n.finishShutdown)
			return
		}
	}
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
	now := time.Now()
	n.warnMu.Lock()
	if last, ok := n.warned[msg]; ok && now.Sub(last) < warnInterval {
		n.warnMu.Unlock()
		return
	}
	if n.warned == nil {
		n.warned = make(map[string]time.Time)
	}
	// Forget expired statements so the map does not grow with every
	// distinct message ever logged.
	for m, at := range n.warned {
		if now.Sub(at) >= warnInterval {
			delete(n.warned, m)
		}
	}
	n.warned[msg] = now
	n.warnMu.Unlock()
	n.s.log.Warn(msg)
}

func (n *raft) error(format string, args ...any) {
	n.s.log.Error(n.logf(format, args))
}

func (n *raft) electTimer() *time.Timer {
	n.RLock()
	defer n.RUnlock()
	return n.elect
}

func (n *raft) IsObserver() bool {
	n.RLock()
	defer n.RUnlock()
	return n.observer
}

// SetObserver makes the node an observer, which replicates but never
// campaigns, or makes it a voter again.
func (n *raft) SetObserver(isObserver bool) {
	n.setObserver(isObserver, extUndetermined)
}

func (n *raft) setObserver(isObserver bool, extSt extensionState) {
	n.Lock()
	defer n.Unlock()
	n.setObserverLocked(isObserver, extSt)
}

// setObserverLocked switches observer mode. Leaving it rearms the election
// timer, which an observer keeps at ObserverModeInterval, so the node can
// campaign again soon.
// The caller holds the node lock.
func (n *raft) setObserverLocked(isObserver bool, extSt extensionState) {
	wasObserver := n.observer
	n.observer = isObserver
	n.extSt = extSt
	if wasObserver && !isObserver {
		n.resetElect(randElectionTimeout(&n.timing))
	}
}

// processAppendEntries handles every queued append entry. Entries are
// always taken off the queue; a closed node or one out of resources drops
// them, and the leader resends what we did not store.
func (n *raft) processAppendEntries() {
	canProcess := true
	if n.isClosed() {
		n.debug("Inbound entries dropped: node is shut down")
		canProcess = false
	}
	if n.outOfResources() {
		n.debug("Inbound entries dropped: storage is out of resources")
		canProcess = false
	}
	aes := n.entry.Pop()
	if canProcess {
		for _, ae := range aes {
			n.processAppendEntry(ae, ae.sub)
		}
	}
	n.entry.Recycle(&aes)
}

// runAsFollower waits for append entries and vote requests until the node
// changes role or stops. When the election timer fires it becomes a
// candidate, unless it is out of resources, an observer or catching up.
func (n *raft) runAsFollower() {
	for n.State() == Follower {
		elect := n.electTimer()

		select {
		case <-n.entry.Ch():
			n.processAppendEntries()
		case <-n.s.quitCh:
			return
		case <-n.quit:
			return
		case <-elect.C:
			switch {
			case n.outOfResources():
				n.resetElectionTimeoutWithLock()
				n.debug("Staying put instead of campaigning: storage is out of resources")
			case n.IsObserver():
				n.resetElectWithLock(n.timing.ObserverModeInterval)
				n.debug("Staying put instead of campaigning: observers never run")
			case n.isCatchingUp():
				n.debug("Staying put instead of campaigning: catchup is in progress")
				n.Lock()
				if n.catchupStalled() {
					n.cancelCatchup()
				}
				n.resetElectionTimeout()
				n.Unlock()
			default:
				n.switchToCandidate()
				return
			}
		case <-n.votes.Ch():
			// Responses to a campaign we already gave up, still in flight.
			n.debug("Vote reply arrived after candidacy ended, discarding")
			n.votes.PopOne()
		case <-n.resp.Ch():
			// Responses to our leadership, from before we stepped down.
			n.resp.Drain()
		case <-n.prop.Ch():
			// Proposals from before we stepped down.
			n.prop.Drain()
		case <-n.reqs.Ch():
			// Drain may have emptied the queue after the signal.
			if vr, ok := n.reqs.PopOne(); ok {
				if err := n.processVoteRequest(vr); err != nil {
					n.debug("Vote request failed: %v", err)
				}
			}
		}
	}
}
