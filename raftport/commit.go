package raftport

import (
	"errors"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// applyCommit moves the commit index to index and hands the entry to the
// apply queue, handling peer-state and membership entries on the way.
// Indexes must be committed in order. Lock held.
func (n *raft) applyCommit(index uint64) error {
	if n.State() == Closed {
		return errNodeClosed
	}
	if index <= n.commit {
		n.debug("Commit %d was applied earlier, skipping", index)
		return nil
	}

	if n.State() == Leader {
		delete(n.acks, index)
	}

	ae := n.pae[index]
	if ae == nil {
		// Below the last snapshot the entry is gone from the log, and the
		// snapshot already holds its effect.
		if index < n.papplied {
			return nil
		}
		var err error
		if ae, err = n.loadEntry(index); err != nil {
			if !errors.Is(err, storage.ErrClosed) && !errors.Is(err, storage.ErrNotFound) {
				// The log cannot be read where it must be: it is no longer
				// trustworthy, start over from the leader.
				n.warn("Reading index %d from the log failed (%v), resetting", index, err)
				if n.State() == Leader {
					n.stepdownLocked(n.selectNextLeader())
				}
				n.resetWAL()
				n.cancelCatchup()
			}
			return errEntryLoadFailed
		}
	} else {
		defer delete(n.pae, index)
	}

	n.commit = index
	ae.buf = nil
	var committed []*Entry

	// Even with nothing for the state machine (peer states are handled
	// here) it gets an empty commit, so its Applied calls keep pace.
	defer func() {
		n.apply.Push(newCommittedEntry(index, committed))
		ae.returnToPool()
	}()

	for _, e := range ae.entries {
		switch e.Type {
		case EntryNormal:
			committed = append(committed, e)
		case EntryOldSnapshot:
			committed = append(committed, newEntry(EntrySnapshot, e.Data))
		case EntrySnapshot:
			committed = append(committed, e)
			// A follower without a snapshot of its own adopts the leader's.
			if len(ae.entries) == 1 && n.snapfile == "" && ae.commit > 0 {
				err := n.installSnapshot(&snapshot{
					lastTerm:  ae.pterm,
					lastIndex: ae.commit,
					peerstate: encodePeerState(&peerState{n.peerNames(), n.csz, n.extSt}),
					data:      e.Data,
				})
				if err != nil {
					n.warn("Error installing snapshot from the leader at %d: %v", index, err)
				}
			}
		case EntryPeerState:
			// The leader's peer set is authoritative; the leader itself
			// already holds it.
			if n.State() != Leader {
				if ps, err := decodePeerState(e.Data); err == nil {
					n.processPeerState(ps)
				}
			}
		case EntryAddPeer:
			newPeer := string(e.Data)
			n.debug("Peer %q joined", newPeer)
			peerIDs.LoadOrStore(newPeer, newPeer)
			n.addPeer(newPeer)
			committed = append(committed, e)
			n.membChangeIndex = 0
		case EntryRemovePeer:
			peer := string(e.Data)
			n.debug("Peer %q leaves", peer)
			n.removePeer(peer)
			peerIDs.Delete(peer)
			committed = append(committed, e)
			n.membChangeIndex = 0
			// A leader that removed itself must hand over and stop.
			if peer == n.id && n.State() == Leader {
				return errNodeRemoved
			}
		}
	}
	return nil
}

// tryCommit commits every index up to index once a quorum stored it and
// reports whether it did. Lock held.
func (n *raft) tryCommit(index uint64) (bool, error) {
	acks := len(n.acks[index])
	// The leader's own copy counts while it is still a member.
	if n.peers[n.id] != nil {
		acks++
	}
	if acks < n.qn {
		return false, nil
	}
	for i := n.commit + 1; i <= index; i++ {
		if err := n.applyCommit(i); err != nil {
			if err != errNodeClosed && err != errNodeRemoved {
				n.error("Applying commit %d failed: %v", i, err)
			}
			return false, err
		}
	}
	return true, nil
}

// trackResponse records a follower's successful store of an index and
// reports whether it counts towards a quorum: only while we lead, only for
// uncommitted indexes and only from known peers. Lock held.
func (n *raft) trackResponse(ar *appendEntryResponse) bool {
	if n.State() != Leader {
		return false
	}

	ps := n.peers[ar.peer]
	if ps != nil && ar.index > ps.li {
		ps.li = ar.index
	}

	// A catchup in progress for this peer paces itself on its acks.
	n.noteCatchupAck(ar.peer, ar.index)

	if ar.index <= n.commit {
		return false
	}
	if ps == nil {
		return false
	}

	results := n.acks[ar.index]
	if results == nil {
		results = make(map[string]struct{})
		n.acks[ar.index] = results
	}
	results[ar.peer] = struct{}{}
	return true
}

// adjustClusterSizeAndQuorum recomputes the cluster size and quorum from
// the known peers. Lock held.
func (n *raft) adjustClusterSizeAndQuorum() {
	pcsz, ncsz := n.csz, 0
	for _, peer := range n.peers {
		if peer.kp {
			ncsz++
		}
	}
	n.csz = ncsz
	n.qn = n.csz/2 + 1

	if ncsz > pcsz {
		n.debug("Cluster grows from %d to %d", pcsz, ncsz)
		// New peers need time to be heard from before quorum is judged.
		n.lsut = time.Now()
	} else if ncsz < pcsz {
		n.debug("Cluster shrinks from %d to %d", pcsz, ncsz)
		// A smaller quorum may already cover pending entries: a heartbeat
		// gets the acknowledgements that commit them. It takes the lock,
		// which the caller holds.
		if n.State() == Leader {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.sendHeartbeat()
			}()
		}
	}
	if ncsz != pcsz {
		if err := n.recreateInternalSubsLocked(); err != nil {
			n.warn("Error recreating internal subscriptions: %v", err)
		}
	}
}

// trackPeer notes that we heard from peer. A leader hearing from someone
// who is not a known member proposes adding it, unless it was removed
// recently.
func (n *raft) trackPeer(peer string) error {
	n.Lock()
	var needPeerAdd, isRemoved bool
	if n.removed != nil {
		var rts time.Time
		rts, isRemoved = n.removed[peer]
		if isRemoved && time.Since(rts) >= n.timing.PeerRemoveTimeout {
			isRemoved = false
		}
	}
	if n.State() == Leader {
		if lp, ok := n.peers[peer]; !ok || !lp.kp {
			needPeerAdd = !isRemoved
		}
	}
	if ps := n.peers[peer]; ps != nil {
		ps.ts = time.Now()
	}
	n.Unlock()

	if !needPeerAdd {
		return nil
	}
	// Losing leadership meanwhile, or another membership change still
	// pending, only defers the add: the peer's next response retries it.
	err := n.ProposeAddPeer(peer)
	if errors.Is(err, errNotLeader) || errors.Is(err, errMembershipChange) {
		n.debug("Deferring adding peer %q: %v", peer, err)
		return nil
	}
	return err
}
