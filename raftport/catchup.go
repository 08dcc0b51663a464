package raftport

import (
	"errors"
	"fmt"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// catchupMaxOutstanding bounds the bytes a leader streams to one follower
// ahead of its acknowledgements, so a far-behind follower cannot make the
// leader buffer its whole log on the transport.
const catchupMaxOutstanding = 2 * 1024 * 1024

// catchupActivityInterval is how long a catchup may go without progress
// before either side gives up on it. The reference fixes it at 2s, half
// its default minimum election timeout; deriving it from that timeout
// keeps the default and scales with shortened test timings.
func (n *raft) catchupActivityInterval() time.Duration {
	return n.timing.MinElectionTimeout / 2
}

// catchupLeaderCheck is how often a catchup stream re-checks that we still
// lead, so a deposed leader stops streaming promptly (the reference's
// 100ms at default timing).
func (n *raft) catchupLeaderCheck() time.Duration {
	return n.catchupActivityInterval() / 20
}

// loadFirstEntry loads the oldest entry still in the log. Lock held.
func (n *raft) loadFirstEntry() (ae *appendEntry, err error) {
	return n.loadEntry(n.wal.State().FirstIndex)
}

// runCatchup streams log entries to a follower that asked to be caught
// up, keeping at most catchupMaxOutstanding bytes unacknowledged. It ends
// when the follower reaches the last index we had at the start, when the
// follower stops acknowledging, or when we stop leading.
func (n *raft) runCatchup(ar *appendEntryResponse, indexUpdatesQ *IPQueue[uint64]) {
	n.RLock()
	reply := n.areply
	peer, subj, term, pterm, last := ar.peer, ar.reply, n.term, n.pterm, n.pindex
	leader := n.State() == Leader
	n.RUnlock()

	defer arPool.Put(ar)
	defer func() {
		n.Lock()
		delete(n.progress, peer)
		if len(n.progress) == 0 {
			n.progress = nil
		}
		_, exists := n.peers[peer]
		n.Unlock()
		// A follower we caught up without knowing it is a new member.
		if !exists {
			n.debug("%q has caught up; adding it as a peer", peer)
			if err := n.ProposeAddPeer(peer); err != nil {
				n.debug("Could not propose adding %q: %v", peer, err)
			}
		}
	}()

	if !leader {
		n.debug("Dropping catchup of %q: leadership was lost", peer)
		return
	}
	n.debug("Catchup of %q from [%d:%d] up to [%d:%d] begins", peer, ar.term, ar.index, pterm, last)

	next, total, outstanding := uint64(0), 0, make(map[uint64]int)

	// sendNext streams entries until the window is full; true means there
	// is nothing more to send.
	sendNext := func() bool {
		for total <= catchupMaxOutstanding {
			next++
			if next > last {
				return true
			}
			ae, err := n.loadEntry(next)
			if err != nil {
				if !errors.Is(err, storage.ErrNotFound) {
					n.warn("Reading index %d from the log failed: %v", next, err)
				}
				return true
			}
			// Entries from older terms carry our current term, so the
			// follower can check them against the highest term it knows.
			if ae.lterm != term {
				ae.lterm = term
				if ae.buf, err = ae.encode(ae.buf[:0]); err != nil {
					n.warn("Encoding a stored entry for resend failed: %v", err)
					return true
				}
			}
			outstanding[next] = len(ae.buf)
			total += len(ae.buf)
			n.sendRPC(subj, reply, ae.buf)
		}
		return false
	}

	timeout := time.NewTimer(n.catchupActivityInterval())
	defer timeout.Stop()
	stepCheck := time.NewTicker(n.catchupLeaderCheck())
	defer stepCheck.Stop()

	for n.State() == Leader {
		select {
		case <-n.s.quitCh:
			return
		case <-n.quit:
			return
		case <-stepCheck.C:
			if n.State() != Leader {
				n.debug("Catchup aborted because leadership was lost")
				return
			}
		case <-timeout.C:
			n.debug("Catchup of %q made no progress", peer)
			return
		case <-indexUpdatesQ.Ch():
			index, ok := indexUpdatesQ.PopOne()
			if !ok {
				continue
			}
			timeout.Reset(n.catchupActivityInterval())
			total -= outstanding[index]
			delete(outstanding, index)
			// The first update is the index the follower starts from.
			if next == 0 {
				next = index
			}
			if index > last || sendNext() {
				n.debug("Catchup complete")
				return
			}
		}
	}
}

// sendSnapshotToFollower sends our last snapshot with its peer state as
// the first catchup entry and returns the index it covers. Lock held.
func (n *raft) sendSnapshotToFollower(subject string) (uint64, error) {
	snap, err := n.loadLastSnapshot()
	if err != nil {
		// Without a snapshot we cannot bring this follower back; a leader
		// that still has one should take over.
		n.stepdownLocked(noLeader)
		return 0, err
	}
	ae := n.buildAppendEntry([]*Entry{{Type: EntrySnapshot, Data: snap.data}, {Type: EntryPeerState, Data: snap.peerstate}})
	ae.pterm, ae.pindex = snap.lastTerm, snap.lastIndex

	// The log may have been compacted past the snapshot; the follower then
	// has to continue from where our log starts.
	state := n.wal.State()
	if fpIndex := state.FirstIndex - 1; snap.lastIndex < fpIndex && state.FirstIndex != 0 {
		snap.lastIndex = fpIndex
		ae.pindex = fpIndex
	}

	encoding, err := ae.encode(nil)
	if err != nil {
		return 0, err
	}
	n.sendRPC(subject, n.areply, encoding)
	return snap.lastIndex, nil
}

// catchupFollower starts streaming our log to a follower that reported it
// is behind, after a snapshot if the entries it needs were compacted away.
func (n *raft) catchupFollower(ar *appendEntryResponse) {
	n.debug("Follower %q asked for missing entries", ar.peer)
	n.Lock()
	if n.progress == nil {
		n.progress = make(map[string]*IPQueue[uint64])
	} else if q, ok := n.progress[ar.peer]; ok {
		// Pushing past the last index makes the running catchup finish.
		n.debug("Replacing the catchup already running for %q", ar.peer)
		delete(n.progress, ar.peer)
		q.Push(n.pindex)
	}

	start := ar.index + 1
	state := n.wal.State()

	if start < state.FirstIndex || (state.Entries == 0 && start <= state.LastIndex) {
		n.debug("Follower is behind our first entry, shipping a snapshot")
		lastIndex, err := n.sendSnapshotToFollower(ar.reply)
		if err != nil {
			n.error("Snapshot delivery to follower %s failed: %v", ar.peer, err)
			n.Unlock()
			arPool.Put(ar)
			return
		}
		start = lastIndex + 1
		if state.Entries == 0 || start > state.LastIndex {
			n.debug("Catchup complete")
			n.Unlock()
			arPool.Put(ar)
			return
		}
		n.debug("Snapshot delivered, catchup resumes after index %d", lastIndex)
	}

	ae, err := n.loadEntry(start)
	if err != nil {
		n.warn("Cannot serve follower from index %d (log state %+v): %v", start, state, err)
		if errors.Is(err, storage.ErrNotFound) {
			// The follower asks for more than we have: it knows a log
			// that is ahead of ours, so we should not lead.
			n.stepdownLocked(noLeader)
			n.Unlock()
			arPool.Put(ar)
			return
		}
		ae, err = n.loadFirstEntry()
	}
	if err != nil || ae == nil {
		// We cannot serve this follower, e.g. our log was reset while it
		// holds a snapshot; staying leader would repeat this forever.
		n.warn("No entry to start a catchup from: %v", err)
		n.stepdownLocked(noLeader)
		n.Unlock()
		arPool.Put(ar)
		return
	}
	if ae.pindex != ar.index || ae.pterm != ar.term {
		n.debug("Starting entry [%d:%d] differs from what the follower expects [%d:%d]", ae.pterm, ae.pindex, ar.term, ar.index)
	}
	indexUpdates := newIPQueue[uint64](fmt.Sprintf("[ACC:%s] RAFT '%s' indexUpdates", n.accName, n.group))
	indexUpdates.Push(ae.pindex)
	n.progress[ar.peer] = indexUpdates
	n.wg.Add(1)
	n.Unlock()
	go func() {
		defer n.wg.Done()
		n.runCatchup(ar, indexUpdates)
	}()
}

// loadEntry decodes the append entry stored at index.
func (n *raft) loadEntry(index uint64) (*appendEntry, error) {
	_, data, err := n.wal.Load(index)
	if err != nil {
		return nil, err
	}
	return decodeAppendEntry(data, nil, "")
}

// cancelCatchup stops an in-flight catchup by dropping its subscription.
// Lock held.
func (n *raft) cancelCatchup() {
	n.debug("Log is current, closing the catchup inbox")
	if n.catchup != nil && n.catchup.sub != nil {
		n.unsubscribe(n.catchup.sub)
	}
	n.cancelCatchupSignal()
	n.catchup = nil
}

// catchupStalled reports whether the catchup made no progress for too
// long; called on each new entry from the leader. Lock held.
func (n *raft) catchupStalled() bool {
	if n.catchup == nil {
		return false
	}
	if n.catchup.pindex == n.pindex {
		return time.Since(n.catchup.active) > n.catchupActivityInterval()
	}
	n.catchup.pindex = n.pindex
	n.catchup.active = time.Now()
	return false
}

// createCatchup records where a catchup must get to (ae's previous entry)
// and subscribes to a fresh inbox the leader will stream to. Lock held.
func (n *raft) createCatchup(ae *appendEntry) string {
	if n.catchup != nil && n.catchup.sub != nil {
		n.unsubscribe(n.catchup.sub)
	}
	n.catchup = &catchupState{
		cterm:  ae.pterm,
		cindex: ae.pindex,
		pterm:  n.pterm,
		pindex: n.pindex,
		active: time.Now(),
	}
	inbox := n.newCatchupInbox()
	sub, err := n.subscribe(inbox, n.handleAppendEntry)
	if err != nil {
		// The leader's stream will find no listener; the stall check
		// then asks again with a new inbox.
		n.warn("Error subscribing to catchup inbox %q: %v", inbox, err)
	}
	n.catchup.sub = sub
	return inbox
}

// sendCatchupSignal tells the state machine that the entries that follow
// are catchup entries, up to a nil entry. Lock held.
func (n *raft) sendCatchupSignal() {
	if n.catchup == nil || n.catchup.signal {
		return
	}
	n.catchup.signal = true
	n.apply.Push(newCommittedEntry(0, []*Entry{{Type: EntryCatchup}}))
}

// cancelCatchupSignal ends the catchup run signalled to the state machine.
// Lock held.
func (n *raft) cancelCatchupSignal() {
	if n.catchup == nil || !n.catchup.signal {
		return
	}
	n.apply.Push(nil)
}
