package raftport

import (
	"runtime"
	"time"
)

// The apply queue hands committed entries to the state machine. An upper
// layer that must catch up out of band (restoring a snapshot, say) pauses
// it: commits are then held back, the highest one noted in hcommit, and
// handed on when it resumes.

// PauseApply holds commits back from the state machine. A leader cannot
// pause: it is the one that has to keep the group moving.
func (n *raft) PauseApply() (err error) {
	n.Lock()
	defer n.Unlock()
	switch n.State() {
	case Leader:
		err = errAlreadyLeader
	default:
		n.pauseApplyLocked()
	}
	return err
}

// pauseApplyLocked holds commits back and keeps this node out of
// elections while it is behind; a candidate gives up its campaign, which
// it could win and then lead without applying. Lock held.
func (n *raft) pauseApplyLocked() {
	n.hcommit = max(n.hcommit, n.commit)
	defer n.resetElect(n.timing.ObserverModeInterval)
	if n.State() == Candidate {
		n.stepdownLocked(noLeader)
	}
	n.paused = true
	n.debug("Holding commits back from the apply queue (up to %d so far)", n.hcommit)
}

// ResumeApply hands the state machine every entry committed while paused,
// then lets the node take part in elections again.
func (n *raft) ResumeApply() {
	n.Lock()
	defer n.Unlock()
	if n.paused && n.releaseHeldCommits() {
		n.paused, n.hcommit = false, 0
		n.rejoinElections()
	}
}

// releaseHeldCommits applies the commits held back while paused. Between
// entries it lets go of the lock, so the state machine can call Applied
// instead of waiting for the whole replay. It reports false when the node
// closed meanwhile. Lock held.
func (n *raft) releaseHeldCommits() bool {
	n.debug("Letting commits flow to the apply queue again, %d held back", n.hcommit-min(n.hcommit, n.commit))
	n.resetElectionTimeout()
	for next := n.commit + 1; next <= n.hcommit; next++ {
		if err := n.applyCommit(next); err != nil {
			n.warn("Replaying a held-back commit failed: %v", err)
			return true
		}
		n.Unlock()
		runtime.Gosched()
		n.Lock()
		if n.State() == Closed {
			return false
		}
	}
	return true
}

// rejoinElections restarts our election timer after a pause; a node
// picked as the next leader while paused campaigns now. Lock held.
func (n *raft) rejoinElections() {
	if !n.lxfer {
		n.resetElectionTimeout()
		return
	}
	if err := n.xferCampaign(); err != nil {
		n.debug("Campaign after resume failed: %v", err)
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
	if err == nil {
		n.replaySnapshot(snap)
	}
	return err == nil
}

// replaySnapshot empties the apply queue and queues snap in its place.
// Lock held.
func (n *raft) replaySnapshot(snap *snapshot) {
	restore := newCommittedEntry(snap.lastIndex, []*Entry{newEntry(EntrySnapshot, snap.data)})
	n.warn("Flushing apply queue and feeding the snapshot back in")
	n.pauseApplyLocked()
	n.apply.Drain()
	// After the drain: a catchup signal may have been dropped, and the
	// state machine still needs the nil entry that ends the catchup.
	n.cancelCatchup()
	n.commit = restore.Index
	n.apply.Push(restore)
}

// Applied is Processed for an upper layer that applies as it processes.
func (n *raft) Applied(index uint64) (entries uint64, bytes uint64) {
	return n.Processed(index, index)
}

// Processed records that the state machine handled entries up to index
// and applied (made durable) up to applied. It returns how many entries,
// and roughly how many bytes, a snapshot could now compact away. An index
// past our commit (the state machine's view of a log we since reset)
// changes nothing.
func (n *raft) Processed(index uint64, applied uint64) (entries uint64, bytes uint64) {
	n.Lock()
	defer n.Unlock()
	if index <= n.commit {
		n.processed = max(n.processed, index)
		n.applied = max(n.applied, min(applied, index))
		n.announceLeadershipOnce()
		entries, bytes = compactable(n.applied, n.papplied, n.pindex, n.bytes)
	}
	return entries, bytes
}

// compactable estimates what a snapshot at applied would remove: the
// entries since the last snapshot at papplied, and their share of the
// log's bytes.
func compactable(applied, papplied, last, logBytes uint64) (entries, bytes uint64) {
	if applied <= papplied {
		return 0, 0
	}
	entries = applied - papplied
	if held := last - min(last, papplied); held > 0 {
		bytes = entries * logBytes / held
	}
	return entries, bytes
}

// announceLeadershipOnce tells the upper layer we lead once we processed
// every entry of the previous terms (aflr): processing, not applying,
// since applying can take much longer. Lock held.
func (n *raft) announceLeadershipOnce() {
	if n.aflr == 0 || n.processed < n.aflr {
		return
	}
	n.aflr = 0
	if n.State() != Leader {
		return
	}
	if !n.leaderState.Swap(true) {
		since := time.Now().UTC()
		n.leaderSince.Store(&since)
	}
	n.updateLeadChange(true)
}
