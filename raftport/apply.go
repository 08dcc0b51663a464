package raftport

import (
	"runtime"
	"time"
)

// PauseApply stops handing committed entries to the state machine, for an
// upper layer that must catch up out of band (restoring a snapshot, say).
// A leader cannot pause: it is the one that has to keep the group moving.
func (n *raft) PauseApply() error {
	if n.State() == Leader {
		return errAlreadyLeader
	}
	n.Lock()
	defer n.Unlock()
	n.pauseApplyLocked()
	return nil
}

// pauseApplyLocked remembers how far the group had committed, so that
// ResumeApply can replay what arrived meanwhile.
// The caller holds the node lock.
func (n *raft) pauseApplyLocked() {
	// A paused candidate could win and then lead without applying.
	if n.State() == Candidate {
		n.stepdownLocked(noLeader)
	}
	n.debug("Holding commits back from the apply queue")
	n.paused = true
	n.hcommit = max(n.hcommit, n.commit)
	// While paused and behind, this node must not try to lead.
	n.resetElect(n.timing.ObserverModeInterval)
}

// ResumeApply hands the state machine every entry committed while paused,
// then lets the node take part in elections again.
func (n *raft) ResumeApply() {
	n.Lock()
	defer n.Unlock()
	if !n.paused {
		return
	}
	n.debug("Letting commits flow to the apply queue again")
	n.resetElectionTimeout()

	if n.hcommit > n.commit {
		n.debug("Releasing %d held-back commits", n.hcommit+1-n.commit)
		for index := n.commit + 1; index <= n.hcommit; index++ {
			if err := n.applyCommit(index); err != nil {
				n.warn("Replaying a held-back commit failed: %v", err)
				break
			}
			// Let the state machine call Applied between entries instead
			// of waiting for the whole replay on our lock.
			n.Unlock()
			runtime.Gosched()
			n.Lock()
			if n.State() == Closed {
				return
			}
		}
	}
	n.paused = false
	n.hcommit = 0

	// A node picked as the next leader while paused campaigns now.
	if n.lxfer {
		if err := n.xferCampaign(); err != nil {
			n.debug("Campaign after resume failed: %v", err)
		}
	} else {
		n.resetElectionTimeout()
	}
}

// DrainAndReplaySnapshot throws away what is queued for the state machine
// and queues the last snapshot instead, for an upper layer that found its
// state unusable. Applies stay paused, keeping the highest commit, until
// the upper layer calls ResumeApply after handling the snapshot. It
// reports false when there is no usable snapshot.
func (n *raft) DrainAndReplaySnapshot() bool {
	n.Lock()
	defer n.Unlock()
	snap, err := n.loadLastSnapshot()
	if err != nil {
		return false
	}
	n.warn("Flushing apply queue and feeding the snapshot back in")
	n.pauseApplyLocked()
	n.apply.Drain()
	// After the drain: a catchup signal may have been dropped, and the
	// state machine still needs the nil entry that ends the catchup.
	n.cancelCatchup()
	n.commit = snap.lastIndex
	n.apply.Push(newCommittedEntry(n.commit, []*Entry{newEntry(EntrySnapshot, snap.data)}))
	return true
}

// Applied is Processed for an upper layer that applies as it processes.
func (n *raft) Applied(index uint64) (entries uint64, bytes uint64) {
	return n.Processed(index, index)
}

// Processed records that the state machine handled entries up to index
// and applied (made durable) up to applied. It returns how many entries,
// and roughly how many bytes, a snapshot could now compact away.
func (n *raft) Processed(index uint64, applied uint64) (entries uint64, bytes uint64) {
	n.Lock()
	defer n.Unlock()

	// After a WAL reset the state machine may report an index we no
	// longer hold as committed.
	if index > n.commit {
		return 0, 0
	}
	n.processed = max(n.processed, index)
	n.applied = max(n.applied, min(applied, index))

	// A new leader announces itself only once it has processed every
	// entry of the previous terms; processing may finish before applying.
	if n.aflr > 0 && n.processed >= n.aflr {
		n.aflr = 0
		if n.State() == Leader {
			if !n.leaderState.Swap(true) {
				now := time.Now().UTC()
				n.leaderSince.Store(&now)
			}
			n.updateLeadChange(true)
		}
	}

	if n.applied > n.papplied {
		entries = n.applied - n.papplied
	}
	if n.pindex > n.papplied {
		bytes = entries * n.bytes / (n.pindex - n.papplied)
	}
	return entries, bytes
}
