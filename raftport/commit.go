package raftport

import (
	"errors"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// applyCommit commits index, the next one after n.commit: the entry's
// membership and peer-state effects take hold here, and the state machine
// gets the rest on the apply queue, an empty batch when nothing is left
// for it (so that its Applied calls keep pace with the commits). The
// caller holds the node lock.
func (n *raft) applyCommit(index uint64) error {
	switch {
	case n.State() == Closed:
		return errNodeClosed
	case index <= n.commit:
		n.debug("Commit %d was applied earlier, skipping", index)
		return nil
	}
	if n.State() == Leader {
		delete(n.acks, index)
	}
	ae, err := n.entryToCommit(index)
	if ae == nil {
		return err
	}
	n.commit, ae.buf = index, nil
	visible, err := n.takeEffect(index, ae)
	n.apply.Push(newCommittedEntry(index, visible))
	ae.returnToPool()
	return err
}

// entryToCommit finds the entry at index: in the pending cache (which it
// leaves), else in the WAL. Below the last snapshot it returns nil and no
// error, the snapshot holds the entry's effect. A log that cannot be read
// where it must be is no longer trusted: the node starts over from the
// leader. The caller holds the node lock.
func (n *raft) entryToCommit(index uint64) (*appendEntry, error) {
	if ae, cached := n.pae[index]; cached {
		delete(n.pae, index)
		return ae, nil
	}
	if index < n.papplied {
		return nil, nil
	}
	ae, err := n.loadEntry(index)
	if err == nil {
		return ae, nil
	}
	expected := errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrNotFound)
	if !expected {
		n.warn("Reading index %d from the log failed (%v), resetting", index, err)
		if n.State() == Leader {
			n.stepdownLocked(n.selectNextLeader())
		}
		n.resetWAL()
		n.cancelCatchup()
	}
	return nil, errEntryLoadFailed
}

// takeEffect applies what the node itself makes of the entries committed
// at index and returns those the state machine sees. The proposals waiting
// on them learn their position; a wait left over (its entry was not one
// the state machine sees, or a removal stopped us) is unknown. The caller
// holds the node lock.
func (n *raft) takeEffect(index uint64, ae *appendEntry) ([]*Entry, error) {
	var visible []*Entry
	waiting := n.outcomes.take(index)
	defer func() {
		for _, w := range waiting {
			n.outcomes.settle(w, waitResult{err: ErrOutcomeUnknown})
		}
	}()
	visible = make([]*Entry, 0, len(ae.entries))
	for pos, e := range ae.entries {
		if e.Type == EntryOldSnapshot {
			// Older logs hold snapshots under the retired type.
			e = newEntry(EntrySnapshot, e.Data)
		}
		seen := e.Type.reachesStateMachine()
		if seen {
			visible = append(visible, e)
		}
		for ; len(waiting) > 0 && waiting[0].pos == pos && seen; waiting = waiting[1:] {
			n.outcomes.settle(waiting[0], waitResult{at: Outcome{Index: index, Pos: len(visible) - 1}})
		}
		if err := n.takeEntryEffect(ae, e); err != nil {
			return visible, err
		}
	}
	return visible, nil
}

// takeEntryEffect is what one committed entry changes in the node; a
// leader that committed its own removal gets errNodeRemoved, to hand over
// and stop. The caller holds the node lock.
func (n *raft) takeEntryEffect(ae *appendEntry, e *Entry) error {
	switch e.Type {
	case EntrySnapshot:
		// A follower without a snapshot of its own adopts the leader's.
		if len(ae.entries) != 1 || n.snapfile != "" || ae.commit == 0 {
			return nil
		}
		snap := &snapshot{lastTerm: ae.pterm, lastIndex: ae.commit, data: e.Data}
		snap.peerstate = encodePeerState(n.currentPeerStateLocked())
		if err := n.installSnapshot(snap); err != nil {
			n.warn("Error installing snapshot from the leader at %d: %v", n.commit, err)
		}
	case EntryPeerState:
		// The leader's own peer set is the one it sent.
		if n.State() == Leader {
			return nil
		}
		if ps, err := decodePeerState(e.Data); err == nil {
			n.processPeerState(ps)
		}
	case EntryAddPeer, EntryRemovePeer:
		return n.commitMembershipChange(e.Type, string(e.Data))
	}
	return nil
}

// commitMembershipChange makes a committed add or remove take hold and
// settles the pending change. The caller holds the node lock.
func (n *raft) commitMembershipChange(t EntryType, peer string) error {
	n.membChangeIndex = protocol.Settle(n.membChangeIndex, n.commit)
	if t == EntryAddPeer {
		n.debug("Peer %q joined", peer)
		peerIDs.LoadOrStore(peer, peer)
		n.addPeer(peer)
		return nil
	}
	n.debug("Peer %q leaves", peer)
	n.removePeer(peer)
	peerIDs.Delete(peer)
	if peer == n.id && n.State() == Leader {
		return errNodeRemoved
	}
	return nil
}

// tryCommit commits through index once the commit rule allows it (a
// quorum of current members stored it, and it is an entry of this term)
// and reports whether it did. The caller holds the node lock.
func (n *raft) tryCommit(index uint64) (bool, error) {
	votes := protocol.Votes(n.acks, index, n.peers)
	if _, member := n.peers[n.id]; member && n.holdsDurably(index) {
		votes++
	}
	to, moves := protocol.CommitTo(protocol.CommitQuery{
		Commit: n.commit, Index: index, LastIndex: n.pindex,
		Votes: votes, Quorum: n.qn, Term: n.term, IndexTerm: n.termAt(index),
	})
	if !moves {
		return false, nil
	}
	for next := n.commit + 1; next <= to; next++ {
		err := n.applyCommit(next)
		if err == nil {
			continue
		}
		if err != errNodeClosed && err != errNodeRemoved {
			n.error("Applying commit %d failed: %v", next, err)
		}
		return false, err
	}
	return true, nil
}

// termAt is the term of our entry at index, 0 when we cannot tell. The
// caller holds the node lock.
func (n *raft) termAt(index uint64) uint64 {
	if ae := n.pae[index]; ae != nil {
		return ae.term
	}
	if term, _, err := n.wal.Load(index); err == nil {
		return term
	}
	return 0
}

// trackResponse records a follower's store of an index and reports
// whether the ack counts towards a commit (see protocol.JudgeAck). The
// caller holds the node lock.
func (n *raft) trackResponse(ar *appendEntryResponse) bool {
	leading := n.State() == Leader
	peer, member := n.peers[ar.peer]
	if leading && member {
		peer.li = max(peer.li, ar.index)
	}
	// A catchup of this peer paces itself on its acks.
	if leading {
		n.noteCatchupAck(ar.peer, ar.index)
	}
	verdict := protocol.JudgeAck(protocol.Ack{
		Leading: leading, Member: member,
		Index: ar.index, Commit: n.commit, LastIndex: n.pindex,
	})
	if verdict != protocol.AckCounted {
		return false
	}
	n.acks.Record(ar.index, ar.peer)
	return true
}

// adjustClusterSizeAndQuorum sizes the cluster by its known peers. A
// grown cluster gives its new members time before quorum is judged; a
// shrunk one may already have a quorum for pending entries, which a
// heartbeat collects. The caller holds the node lock.
func (n *raft) adjustClusterSizeAndQuorum() {
	known := 0
	for _, p := range n.peers {
		if p.kp {
			known++
		}
	}
	rs := protocol.ResizeTo(n.csz, known)
	if !rs.Grew && !rs.Shrank {
		n.csz, n.qn = rs.Size, rs.Quorum
		return
	}
	n.debug("Cluster resized from %d to %d", n.csz, rs.Size)
	n.csz, n.qn = rs.Size, rs.Quorum
	if rs.Grew {
		n.lsut = time.Now()
	}
	if rs.Shrank && n.State() == Leader {
		// sendHeartbeat takes the lock, which our caller holds.
		n.wg.Go(n.sendHeartbeat)
	}
	if err := n.recreateInternalSubsLocked(); err != nil {
		n.warn("Error recreating internal subscriptions: %v", err)
	}
}

// trackPeer notes that we heard from peer. A leader hearing from a peer
// that is not a known member proposes adding it, unless the peer was
// removed within the peer-remove timeout. Losing leadership meanwhile, or
// another change still pending, only defers the add: the peer's next
// response retries it.
func (n *raft) trackPeer(peer string) error {
	n.Lock()
	lp, heard := n.peers[peer]
	if heard {
		lp.ts = time.Now()
	}
	removedAt, wasRemoved := n.removed[peer]
	recentlyRemoved := wasRemoved && time.Since(removedAt) < n.timing.PeerRemoveTimeout
	propose := n.State() == Leader && (!heard || !lp.kp) && !recentlyRemoved
	n.Unlock()

	if !propose {
		return nil
	}
	switch err := n.ProposeAddPeer(peer); {
	case errors.Is(err, errNotLeader), errors.Is(err, errMembershipChange):
		n.debug("Deferring adding peer %q: %v", peer, err)
		return nil
	default:
		return err
	}
}
