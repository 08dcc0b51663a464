package raftport

import (
	"errors"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// handleAppendEntry decodes an append entry from the leader (live or
// catchup) and queues it for the run loop; the transport callback itself
// never touches protocol state.
func (n *raft) handleAppendEntry(sub transport.Subscription, _, reply string, msg []byte) {
	ae, err := decodeAppendEntry(msg, sub, reply)
	if err != nil {
		n.warn("Dropping inbound entry batch: it could not be decoded")
		return
	}
	n.entry.Push(ae)
}

// truncateWAL drops every entry after index and takes term as the term of
// the last entry, then pulls commit, processed and applied back into the
// log if they were past it. Lock held.
func (n *raft) truncateWAL(term, index uint64) {
	n.debug("Cutting the log back to term %d, index %d", term, index)

	if term == 0 && index == 0 {
		if n.commit > 0 {
			n.warn("Discarding the whole log")
		} else {
			n.debug("Emptying the log; nothing was committed yet")
		}
	}
	if index < n.commit {
		// Committed entries are never supposed to go; reaching here means
		// the log was damaged or a peer broke the protocol.
		n.error("WAL truncate lost commits: term %d index %d commit %d applied %d", term, index, n.commit, n.applied)
	}

	defer func() {
		// A snapshot past the truncation point holds state of entries
		// that no longer exist.
		if snap, _ := n.loadLastSnapshot(); snap != nil && snap.lastIndex > index {
			if err := os.Remove(n.snapfile); err != nil && !errors.Is(err, os.ErrNotExist) {
				n.warn("Error removing invalidated snapshot %q: %v", n.snapfile, err)
			}
			n.snapfile = ""
		}
		if n.commit > n.pindex {
			n.commit = n.pindex
		}
		if n.processed > n.commit {
			n.processed = n.commit
		}
		if n.applied > n.processed {
			n.applied = n.processed
		}
		n.bytes = n.wal.State().Bytes
	}()

	if err := n.truncateLogTo(index); err != nil {
		n.warn("Log truncation failed: %v", err)
		n.setWriteErrLocked(err)
		return
	}
	n.pterm, n.pindex = term, index

	// An uncommitted membership change that was truncated never happened.
	if n.membChangeIndex > 0 && n.membChangeIndex > index {
		n.membChangeIndex = 0
	}
}

// truncateLogTo drops every log entry after index, so that the next entry
// stored is index+1, with the reference store's semantics: an index below
// the compacted start (a log that skips past our snapshot) empties the
// log rather than failing, as the reference's stores do. Lock held.
func (n *raft) truncateLogTo(index uint64) error {
	if index == 0 || index+1 >= n.wal.State().FirstIndex {
		return n.wal.Truncate(index)
	}
	if err := n.wal.Truncate(0); err != nil {
		return err
	}
	return n.wal.Compact(index + 1)
}

// resetWAL empties the log. Lock held.
func (n *raft) resetWAL() {
	n.truncateWAL(0, 0)
}

// updateLeader records who leads now. Lock held.
func (n *raft) updateLeader(newLeader string) {
	wasLeader := n.leader == n.id
	n.leader = newLeader
	n.hasleader.Store(newLeader != noLeader)
	if !n.pleader.Load() && newLeader != noLeader {
		n.pleader.Store(true)
		// A scale-up from one replica signalled leadership early to avoid
		// flapping; if someone else ended up leading, take it back.
		if n.maybeLeader {
			n.maybeLeader = false
			if n.id != newLeader {
				n.updateLeadChange(false)
			}
		}
	}
	// A leader tracks every peer; a follower tracks only its leader, so
	// the other peers' last-seen times would be stale.
	if newLeader != n.id && !wasLeader {
		for peer, ps := range n.peers {
			if peer == newLeader {
				continue
			}
			ps.ts = time.Time{}
		}
	}
}

// processAppendEntry handles one append entry: from the live subscription
// (sub == n.aesub), from a catchup stream (sub == n.catchup.sub) or from
// our own log while replaying at startup (sub == nil). It checks terms and
// log consistency, stores and acknowledges, and applies what the leader
// committed.
func (n *raft) processAppendEntry(ae *appendEntry, sub transport.Subscription) {
	n.Lock()
	// A node asked to take over leadership must campaign on its own timer.
	if !n.lxfer {
		n.resetElectionTimeout()
	}

	if n.State() == Closed || n.werr != nil {
		n.Unlock()
		return
	}

	// During a catchup the leader sends old entries of older terms with
	// its current term as lterm, so the follower checks its own term
	// against the leader's and not against the entry's.
	lterm := ae.term
	if ae.lterm != 0 {
		lterm = ae.lterm
	}

	if n.State() == Leader {
		if lterm < n.term {
			n.debug("Dropping entries from a leader of an earlier term")
			ar := newAppendEntryResponse(n.term, n.pindex, n.id, false)
			n.sendAppendEntryResponse(ae.reply, "", ar)
			n.Unlock()
			return
		}
		if lterm > n.term {
			n.term = lterm
			n.vote = noVote
			n.writeTermVote()
		} else {
			n.error("Two leaders using the same term %d: us and %q (term %d, lterm %d)", n.term, ae.leader, ae.term, ae.lterm)
		}
		n.debug("Another leader is sending entries, yielding to %q", ae.leader)
		n.stepdownLocked(ae.leader)
	}

	// Someone already won the election we are running.
	if n.State() == Candidate && lterm >= n.term {
		if lterm > n.term {
			n.term = lterm
			n.vote = noVote
			n.writeTermVote()
		}
		n.debug("Entries from %q arrived while campaigning, becoming its follower", ae.leader)
		n.stepdownLocked(ae.leader)
	}

	catchingUp := n.catchup != nil
	isNew := sub != nil && sub == n.aesub

	// Entries of a catchup stream that is not our current one are stale,
	// whatever their index (see admitStreamEntry).
	if !n.admitStreamEntry(ae, sub, isNew) {
		n.Unlock()
		n.debug("Dropping a stale entry left over from an earlier catchup")
		return
	}

	if lterm > n.term {
		n.term = lterm
		n.vote = noVote
		if isNew {
			n.writeTermVote()
		}
		if n.State() != Follower {
			n.debug("Saw a newer term while in state %v, yielding to %q", n.State(), ae.leader)
			n.stepdownLocked(ae.leader)
		}
	} else if lterm < n.term && sub != nil && (isNew || ae.lterm != 0) {
		// A replay always continues, and so does a catchup from a leader
		// too old to send lterm; anything else below our term is stale.
		if !isNew {
			n.debug("Dropping a stale entry left over from an earlier catchup")
			n.Unlock()
			return
		}
		n.debug("Refused entries from leader %s: its term %d is behind ours", ae.leader, lterm)
		ar := newAppendEntryResponse(n.term, n.pindex, n.id, false)
		n.Unlock()
		n.sendAppendEntryResponse(ae.reply, "", ar)
		return
	}

	if catchingUp {
		if cs := n.catchup; cs != nil && n.pterm >= cs.cterm && n.pindex >= cs.cindex {
			n.cancelCatchup()
			catchingUp = false
		} else if isNew {
			// Live entries wait until the catchup is done; only check that
			// the catchup still makes progress, and ask again if not.
			var ar *appendEntryResponse
			var inbox string
			if n.catchupStalled() {
				n.debug("Catchup looks stuck, asking the leader again")
				inbox = n.createCatchup(ae)
				ar = newAppendEntryResponse(n.pterm, n.pindex, n.id, false)
			}
			n.Unlock()
			if ar != nil {
				n.sendAppendEntryResponse(ae.reply, inbox, ar)
			}
			return
		}
	}

	if isNew && n.leader != ae.leader && n.State() == Follower {
		n.debug("Leader is now %q", ae.leader)
		n.updateLeader(ae.leader)
		n.writeTermVote()
		n.resetElectionTimeout()
		n.updateLeadChange(false)
	}

	// Only after the term checks, so that an old leader is not tracked.
	if isNew && ae.leader != noLeader && ae.leader == n.leader {
		if ps := n.peers[ae.leader]; ps != nil {
			ps.ts = time.Now()
		}
	}

	if ae.pterm != n.pterm || ae.pindex != n.pindex {
		proceed, ar, inbox := n.resolvePrevMismatch(ae, isNew, catchingUp)
		if !proceed {
			n.Unlock()
			if ar != nil {
				n.sendAppendEntryResponse(ae.reply, inbox, ar)
			}
			return
		}
	}

	// A catchup's snapshot message (a snapshot plus the peer state) is
	// installed, never stored as an entry. One that gets here, starting
	// where our log ends, is a copy of one we installed: stored, it would
	// be applied as the state at the next index.
	if sub != nil && !isNew && ae.isCatchupSnapshot() {
		n.Unlock()
		n.debug("Dropping a catchup snapshot our log already holds")
		return
	}

	if ae.shouldStore() {
		if sub != nil {
			if err := n.storeToWAL(ae); err != nil {
				if !errors.Is(err, storage.ErrClosed) {
					n.warn("Could not persist entry in the log: %v", err)
				}
				n.Unlock()
				return
			}
			n.cachePendingEntry(ae)
			n.resetInitializing()
		} else {
			// A replay: the entry is in our log already.
			n.pterm = ae.term
			n.pindex = ae.pindex + 1
		}
	}

	for _, e := range ae.entries {
		switch e.Type {
		case EntryLeaderTransfer:
			// Only a live transfer counts, never a replayed or caught-up one.
			if isNew && string(e.Data) == n.id {
				if !n.observer && !n.paused {
					n.lxfer = true
					if err := n.xferCampaign(); err != nil {
						n.debug("Leader transfer campaign failed: %v", err)
					}
				} else if n.paused {
					// We campaign once the apply queue is resumed.
					n.lxfer = true
				}
			}
		case EntryAddPeer:
			// Membership is changing from this entry's index on; the new
			// peer is tracked now and becomes official on commit.
			n.membChangeIndex = n.pindex
			if newPeer := string(e.Data); len(newPeer) == idLen {
				if _, ok := n.peers[newPeer]; !ok {
					n.peers[newPeer] = &lps{}
				}
				peerIDs.LoadOrStore(newPeer, newPeer)
			}
		case EntryRemovePeer:
			n.membChangeIndex = n.pindex
		}
	}

	// Applying may return ae to the pool.
	aeCommit, aeReply, aeLeader := ae.commit, ae.reply, ae.leader

	if aeCommit > n.commit {
		if catchingUp {
			// From here on the state machine may coalesce catchup entries.
			n.sendCatchupSignal()
		}
		if n.paused {
			n.hcommit = aeCommit
			n.debug("Apply is paused, holding back commit %d", aeCommit)
		} else {
			for index := n.commit + 1; index <= aeCommit; index++ {
				if err := n.applyCommit(index); err != nil {
					break
				}
			}
		}
	}

	// Only live entries are acknowledged: a success for a catchup entry
	// would count towards a quorum for a log we do not fully hold.
	var ar *appendEntryResponse
	if isNew {
		ar = newAppendEntryResponse(n.pterm, n.pindex, n.id, true)
		// Our log now holds the leader's as of this entry, so it holds
		// every committed entry, whatever we lost: we may vote again.
		if n.abstain {
			n.debug("Caught up with leader %q, voting again", aeLeader)
			n.abstain = false
		}
	}
	n.Unlock()

	if ar != nil {
		n.sendAppendEntryResponse(aeReply, "", ar)
	}
}

// sendAppendEntryResponse encodes and sends ar, then recycles it.
func (n *raft) sendAppendEntryResponse(subject, reply string, ar *appendEntryResponse) {
	var scratch [appendEntryResponseLen]byte
	n.sendRPC(subject, reply, ar.encode(scratch[:]))
	arPool.Put(ar)
}

// resolvePrevMismatch handles an append entry whose previous entry is not
// our last one. It reports whether to go on storing ae, and otherwise a
// response to send (with the inbox to catch up on). Lock held.
func (n *raft) resolvePrevMismatch(ae *appendEntry, isNew, catchingUp bool) (proceed bool, ar *appendEntryResponse, inbox string) {
	if ae.pindex <= n.pindex {
		n.debug("Incoming previous position [%d:%d] is not past ours [%d:%d]", ae.pterm, ae.pindex, n.pterm, n.pindex)
		return n.truncateToLeader(ae, isNew), nil, ""
	}

	if catchingUp {
		n.installCatchupSnapshot(ae)
		return false, nil, ""
	}

	n.debug("Incoming previous position [%d:%d] disagrees with ours [%d:%d]", ae.pterm, ae.pindex, n.pterm, n.pindex)
	inbox = n.createCatchup(ae)
	return false, newAppendEntryResponse(n.pterm, n.pindex, n.id, false), inbox
}

// truncateToLeader handles an append entry that starts at or before our
// last entry: our log has entries the leader does not, or ae is a late
// duplicate. It reports whether the log now ends where ae starts. Lock
// held.
func (n *raft) truncateToLeader(ae *appendEntry, isNew bool) bool {
	var success bool
	if ae.pindex < n.commit {
		success = true
		n.debug("Previous index %d already covered by commit %d, acknowledging", ae.pindex, n.commit)
	} else if eae, _ := n.loadEntry(ae.pindex); eae == nil {
		switch {
		case ae.pterm == n.pterm && isNew:
			// Already processed, e.g. redelivered around a restart that
			// raced a snapshot.
			success = true
			n.debug("Previous index %d was handled before, acknowledging", ae.pindex)
		case ae.pindex == n.pindex:
			// Only the terms differ: take the leader's, or we would keep
			// disagreeing forever.
			n.truncateWAL(ae.pterm, ae.pindex)
		default:
			snap, err := n.loadLastSnapshot()
			if err == nil && snap.lastIndex == ae.pindex && snap.lastTerm == ae.pterm {
				// The entry is in our snapshot: cut the log back to it.
				n.truncateWAL(snap.lastTerm, snap.lastIndex)
				if ae.pterm == n.pterm && ae.pindex == n.pindex {
					return true
				}
			} else {
				n.resetWAL()
			}
		}
	} else if eae.term == ae.pterm {
		// We agree up to ae.pindex: drop what follows and store ae.
		n.truncateWAL(ae.pterm, ae.pindex)
		if ae.pterm == n.pterm && ae.pindex == n.pindex {
			return true
		}
	} else {
		// Our entry at ae.pindex is from another term: it and everything
		// after it go.
		n.truncateWAL(eae.pterm, eae.pindex)
	}
	if !success {
		n.cancelCatchup()
	}
	// No response either way: a success would count towards a quorum for
	// a log we do not hold, and a failure tells the leader nothing new.
	return false
}

// installCatchupSnapshot handles the first entry of a catchup that starts
// past our log: the leader's snapshot and peer state. Lock held.
func (n *raft) installCatchupSnapshot(ae *appendEntry) {
	if !ae.isCatchupSnapshot() {
		n.warn("First catchup entry lacked a snapshot plus peer state, retrying")
		n.cancelCatchup()
		return
	}
	ps, err := decodePeerState(ae.entries[1].Data)
	if err != nil {
		n.warn("Peer state carried by the snapshot is unreadable")
		n.cancelCatchup()
		return
	}
	n.processPeerState(ps)
	// The snapshot outlives the message buffer it arrived in.
	ae.entries[0].Data = append([]byte(nil), ae.entries[0].Data...)

	hadPreviousSnapshot := n.snapfile != ""
	n.pindex = ae.pindex
	n.pterm = ae.pterm
	n.commit = ae.pindex
	// A membership change we held uncommitted is settled by the snapshot,
	// one way or the other; left pending, it would block every later one.
	if n.membChangeIndex > 0 && n.membChangeIndex <= n.commit {
		n.membChangeIndex = 0
	}

	snap := &snapshot{
		lastTerm:  n.pterm,
		lastIndex: n.pindex,
		peerstate: encodePeerState(&peerState{n.peerNames(), n.csz, n.extSt}),
		data:      ae.entries[0].Data,
	}
	if err := n.installSnapshot(snap); err != nil {
		n.setWriteErrLocked(err)
		return
	}
	n.resetInitializing()

	// A node with no state of its own may coalesce from the snapshot on;
	// one with state must first apply the snapshot as it is.
	if !hadPreviousSnapshot {
		n.sendCatchupSignal()
	}
	n.apply.Push(newCommittedEntry(n.commit, ae.entries[:1]))
	if hadPreviousSnapshot {
		n.sendCatchupSignal()
	}
}

// resetInitializing marks the node as holding data; a node added by a
// scale-up may now vote and campaign. Lock held.
func (n *raft) resetInitializing() {
	n.initializing = false
	if n.scaleUp {
		n.scaleUp = false
		n.setObserverLocked(false, extUndetermined)
	}
}

// processPeerState adopts the leader's peer set and cluster size, keeping
// what we know of peers that stay. Lock held.
func (n *raft) processPeerState(ps *peerState) {
	n.csz = ps.clusterSize
	n.qn = n.csz/2 + 1

	old := n.peers
	n.peers = make(map[string]*lps, len(ps.knownPeers))
	for _, peer := range ps.knownPeers {
		if lp := old[peer]; lp != nil {
			lp.kp = true
			n.peers[peer] = lp
		} else {
			n.peers[peer] = &lps{kp: true}
		}
	}
	n.debug("Leader sent a new peer set: %+v", n.peers)
	n.writePeerState(ps)
}

// processAppendEntryResponse handles a follower's answer: a success counts
// towards committing; a refusal with a reply inbox asks for a catchup; a
// refusal with a higher term means we are no longer the leader.
func (n *raft) processAppendEntryResponse(ar *appendEntryResponse) {
	if err := n.trackPeer(ar.peer); err != nil {
		n.debug("Error tracking peer %q: %v", ar.peer, err)
	}

	switch {
	case ar.success:
		// ar.term does not matter: the follower accepted our entry.
		var err error
		var committed bool

		n.Lock()
		if n.trackResponse(ar) {
			committed, err = n.tryCommit(ar.index)
		}
		n.Unlock()

		// We committed our own removal: hand over, then stop.
		if errors.Is(err, errNodeRemoved) {
			if err := n.StepDown(); err != nil {
				n.debug("Stepdown after removal failed: %v", err)
			}
			n.Stop()
		}
		// Followers apply on the next message; send one now unless a
		// proposal is about to go out anyway.
		if committed && n.prop.Len() == 0 {
			n.sendHeartbeat()
		}
		arPool.Put(ar)
	case ar.reply != "":
		// ar.term is the follower's pterm; runCatchup recycles ar.
		n.catchupFollower(ar)
	case ar.term > n.Term():
		// ar.term is the follower's term: a newer leader exists.
		n.Lock()
		n.term = ar.term
		n.vote = noVote
		n.writeTermVote()
		n.warn("A leader with a newer term exists, giving up leadership")
		n.stepdownLocked(noLeader)
		n.Unlock()
		arPool.Put(ar)
	default:
		arPool.Put(ar)
	}
}

// handleAppendEntryResponse queues a follower's response for the leader
// loop.
func (n *raft) handleAppendEntryResponse(_ transport.Subscription, subject, reply string, msg []byte) {
	ar := decodeAppendEntryResponse(msg)
	if ar == nil {
		n.warn("Ignoring corrupt append entry response of %d bytes on %q", len(msg), subject)
		return
	}
	ar.reply = reply
	n.resp.Push(ar)
}

// buildAppendEntry wraps entries in an append entry that follows our last
// log entry. Lock held.
func (n *raft) buildAppendEntry(entries []*Entry) *appendEntry {
	return newAppendEntry(n.id, n.term, n.commit, n.pterm, n.pindex, entries)
}

// storeToWAL appends ae (its encoding) to our log; it must land right
// after our last entry. Lock held.
func (n *raft) storeToWAL(ae *appendEntry) error {
	if ae == nil {
		return errors.New("raft: missing append entry for storage")
	}
	if n.werr != nil {
		return n.werr
	}

	index, err := n.wal.Append(ae.term, ae.buf)
	if err != nil {
		n.setWriteErrLocked(err)
		return err
	}

	// Landing anywhere else means our view of the log and the log itself
	// disagree: neither can be trusted, start over from the leader.
	if want := ae.pindex + 1; index != want {
		n.warn("Stored index mismatch for %+v: log put it at %d while pindex is %d, resetting", ae, index, n.pindex)
		if n.State() == Leader {
			n.stepdownLocked(n.selectNextLeader())
		}
		n.resetWAL()
		n.cancelCatchup()
		return errEntryStoreFailed
	}

	n.bytes += uint64(len(ae.buf))
	n.pterm = ae.term
	n.pindex = index
	return nil
}

func (n *raft) sendAppendEntry(entries []*Entry) {
	n.Lock()
	defer n.Unlock()
	if err := n.sendAppendEntryLocked(entries, true); err != nil {
		n.debug("Append entry not sent: %v", err)
	}
}

// sendAppendEntryLocked stores entries (if any) in our log and sends them
// to the followers; with no entries it is a heartbeat. checkLeader guards
// against a stepdown that happened on another goroutine. Lock held.
func (n *raft) sendAppendEntryLocked(entries []*Entry, checkLeader bool) error {
	if checkLeader && n.State() != Leader {
		n.debug("Skipping entry send because this node no longer leads")
		return errNotLeader
	}
	ae := n.buildAppendEntry(entries)

	var err error
	if ae.buf, err = ae.encode(nil); err != nil {
		return err
	}

	shouldStore := ae.shouldStore()
	if shouldStore {
		if err := n.storeToWAL(ae); err != nil {
			return err
		}
		n.active = time.Now()
		n.cachePendingEntry(ae)
	}
	n.sendRPC(n.asubj, n.areply, ae.buf)
	if !shouldStore {
		ae.returnToPool()
	}
	// Alone, we are our own quorum.
	if n.csz == 1 {
		if _, err := n.tryCommit(n.pindex); err != nil {
			n.debug("Commit of %d failed: %v", n.pindex, err)
		}
	}
	return nil
}

// isCatchupSnapshot reports whether ae is the first message of a catchup
// from a snapshot, as sendSnapshotToFollower builds it.
func (ae *appendEntry) isCatchupSnapshot() bool {
	return len(ae.entries) == 2 && ae.entries[0].Type == EntrySnapshot && ae.entries[1].Type == EntryPeerState
}

// cachePendingEntry keeps the entry just stored at pindex in memory for
// applyCommit, up to a bound so a stalled quorum cannot exhaust memory.
// Lock held.
func (n *raft) cachePendingEntry(ae *appendEntry) {
	if l := len(n.pae); l < paeDropThreshold {
		n.pae[n.pindex], l = ae, l+1
		if l >= paeWarnThreshold && l%paeWarnModulo == 0 {
			n.warn("Leader has %d unacknowledged entries queued", len(n.pae))
		}
	} else {
		// An older entry may be cached at this index with other contents.
		delete(n.pae, n.pindex)
	}
}
