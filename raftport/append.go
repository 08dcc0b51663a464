package raftport

import (
	"errors"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// The append-entry shell. protocol.Receive and protocol.Reconcile decide
// what a received append entry means; protocol.Answer and
// protocol.Resend what a leader does with a follower's response. The
// methods here gather the state those rules read, carry out their
// decisions (persisting before anything that depends on it is sent) and
// send the answers once the lock is released.

// aeAnswer is a response to send after the lock is released; a nil ar
// means there is nothing to say.
type aeAnswer struct {
	to, inbox string
	ar        *appendEntryResponse
}

func (a aeAnswer) send(n *raft) {
	if a.ar != nil {
		n.sendAppendEntryResponse(a.to, a.inbox, a.ar)
	}
}

// handleAppendEntry decodes an append entry from the leader (live or
// catchup) and queues it for the run loop; the transport callback itself
// never touches protocol state.
func (n *raft) handleAppendEntry(sub transport.Subscription, _, reply string, msg []byte) {
	n.enqueueEntry(decodeAppendEntry(msg, sub, reply))
}

// enqueueEntry queues a decoded append entry for the run loop.
func (n *raft) enqueueEntry(ae *appendEntry, err error) {
	if err != nil {
		n.warn("Dropping inbound entry batch: %v", err)
	} else {
		n.entry.Push(ae)
	}
}

// processAppendEntry handles one append entry: from the live subscription
// (sub == n.aesub), from a catchup stream (sub == n.catchup.sub) or from
// our own log while replaying at startup (sub == nil).
func (n *raft) processAppendEntry(ae *appendEntry, sub transport.Subscription) {
	n.Lock()
	answer := n.receiveLocked(ae, sub)
	deferred := answer.ar != nil && n.awaitDurable(answer)
	n.Unlock()
	if !deferred {
		answer.send(n)
	}
}

// aeVia tells the append rules which channel delivered an entry.
func (n *raft) aeVia(sub transport.Subscription) protocol.Via {
	switch {
	case sub == nil:
		return protocol.ViaReplay
	case sub == n.aesub:
		return protocol.ViaLive
	case n.catchup != nil && sub == n.catchup.sub:
		return protocol.ViaCatchup
	}
	return protocol.ViaOldCatchup
}

// aeLocal is what the append rules read of our state. Lock held.
func (n *raft) aeLocal() protocol.Local {
	// protocol.Role takes raftport.RaftState's values.
	l := protocol.Local{Role: protocol.Role(n.State()), Term: n.term, LastTerm: n.pterm, LastIndex: n.pindex, Commit: n.commit}
	if cs := n.catchup; cs != nil {
		l.CatchingUp, l.WantTerm, l.WantIndex = true, cs.cterm, cs.cindex
	}
	return l
}

// arrival is what the append rules read of ae.
func (ae *appendEntry) arrival(via protocol.Via) protocol.Arrival {
	return protocol.Arrival{
		Via: via, Term: ae.term, LeaderTerm: ae.lterm,
		PrevTerm: ae.pterm, PrevIndex: ae.pindex, Snapshot: ae.isCatchupSnapshot(),
	}
}

// receiveLocked runs protocol.Receive on ae and carries out its verdict.
// Lock held.
func (n *raft) receiveLocked(ae *appendEntry, sub transport.Subscription) aeAnswer {
	// A node asked to take over leadership must campaign on its own timer.
	if !n.lxfer {
		n.resetElectionTimeout()
	}
	if n.State() == Closed || n.werr != nil {
		return aeAnswer{}
	}
	via := n.aeVia(sub)
	// A catchup stream that is not our current one is stale, whatever
	// the entry's index (see admitStreamEntry).
	if !n.admitStreamEntry(ae, sub, via == protocol.ViaLive) {
		n.debug("Dropping entry [%d:%d] of a catchup stream we left", ae.pterm, ae.pindex)
		return aeAnswer{}
	}
	v := protocol.Receive(n.aeLocal(), ae.arrival(via))
	n.adoptVerdict(v, ae)

	switch v.Action {
	case protocol.Drop:
		n.debug("Dropping entry [%d:%d] from %q: stale, or of a catchup we left", ae.pterm, ae.pindex, ae.leader)
		return aeAnswer{}
	case protocol.Refuse:
		n.debug("Refused entries from %q: its term %d is behind ours %d", ae.leader, max(ae.term, ae.lterm), n.term)
		return aeAnswer{to: ae.reply, ar: newAppendEntryResponse(n.term, n.pindex, n.id, false)}
	case protocol.Hold:
		return n.holdLive(ae)
	}

	if via == protocol.ViaLive {
		n.followSender(ae)
	}
	switch v.Action {
	case protocol.AskCatchup:
		n.debug("Incoming previous position [%d:%d] is past ours [%d:%d]", ae.pterm, ae.pindex, n.pterm, n.pindex)
		return n.askCatchup(ae)
	case protocol.InstallSnapshot:
		n.installCatchupSnapshot(ae)
		return aeAnswer{}
	case protocol.Overlap:
		if !n.reconcile(ae, via) {
			return aeAnswer{}
		}
	}
	return n.acceptEntry(ae, via)
}

// adoptVerdict applies the term and role parts of a verdict, in the order
// the rules give them: a newer term (persisted first when asked), the
// stepdown, the end of the catchup. Lock held.
func (n *raft) adoptVerdict(v protocol.Verdict, ae *appendEntry) {
	if v.TwinLeader {
		n.error("Two leaders using the same term %d: us and %q (term %d, lterm %d)", n.term, ae.leader, ae.term, ae.lterm)
	}
	if v.AdoptTerm != 0 {
		n.term, n.vote = v.AdoptTerm, noVote
		if v.Persist {
			n.writeTermVote()
		}
	}
	if v.StepDown {
		n.debug("Entries from %q in state %v, following it", ae.leader, n.State())
		n.stepdownLocked(ae.leader)
	}
	if v.EndCatchup {
		n.cancelCatchup()
		n.ap.heldRun = 0
	}
}

// followSender records the sender of a live entry that passed the term
// checks as our leader, and that we heard from it. Lock held.
func (n *raft) followSender(ae *appendEntry) {
	if n.leader != ae.leader && n.State() == Follower {
		n.debug("Leader is now %q", ae.leader)
		n.updateLeader(ae.leader)
		n.writeTermVote()
		n.resetElectionTimeout()
		n.updateLeadChange(false)
	}
	if ps := n.peers[n.leader]; ps != nil && ae.leader == n.leader && ae.leader != noLeader {
		ps.ts = time.Now()
	}
}

// holdLive drops a live entry that arrived during our catchup and asks
// for the catchup again when protocol.Reask says it stalled. Lock held.
func (n *raft) holdLive(ae *appendEntry) aeAnswer {
	n.ap.held.Add(1)
	if n.ap.heldAt != n.pindex {
		n.ap.heldAt, n.ap.heldRun = n.pindex, 0
	}
	n.ap.heldRun++
	if !protocol.Reask(n.ap.heldRun, n.catchupStalled()) || !n.catchupQuiet() {
		return aeAnswer{}
	}
	n.debug("Catchup looks stuck at %d, asking the leader again", n.pindex)
	return n.askCatchup(ae)
}

// askCatchup opens a catchup inbox that must bring us up to ae's previous
// entry and answers the leader with it. Lock held.
func (n *raft) askCatchup(ae *appendEntry) aeAnswer {
	n.ap.asked.Add(1)
	n.ap.heldRun = 0
	inbox := n.createCatchup(ae)
	return aeAnswer{to: ae.reply, inbox: inbox, ar: newAppendEntryResponse(n.pterm, n.pindex, n.id, false)}
}

// reconcile repairs our log for an entry that starts inside it, as
// protocol.Reconcile decides, and reports whether the log now ends where
// ae starts so that ae is stored. Lock held.
func (n *raft) reconcile(ae *appendEntry, via protocol.Via) bool {
	n.debug("Incoming previous position [%d:%d] is not past ours [%d:%d]", ae.pterm, ae.pindex, n.pterm, n.pindex)
	var held protocol.Held
	if ae.pindex >= n.commit {
		if ours, _ := n.loadEntry(ae.pindex); ours != nil {
			held = protocol.Held{Found: true, Term: ours.term, PrevTerm: ours.pterm, PrevIndex: ours.pindex}
			if after, _ := n.loadEntry(ae.pindex + 1); after != nil {
				held.HasNext, held.NextTerm = true, after.term
			}
		} else if snap, err := n.loadLastSnapshot(); err == nil && snap != nil {
			held.SnapTerm, held.SnapIndex = snap.lastTerm, snap.lastIndex
		}
	}
	fix := protocol.Reconcile(n.aeLocal(), ae.arrival(via), held)
	switch {
	case fix.Covered:
		n.debug("Previous index %d is already held (commit %d)", ae.pindex, n.commit)
		return false
	case fix.Reset:
		n.resetWAL()
	case fix.Truncate:
		n.truncateWAL(fix.Term, fix.Index)
	}
	if fix.Resume && n.pterm == ae.pterm && n.pindex == ae.pindex {
		return true
	}
	n.cancelCatchup()
	return false
}

// acceptEntry stores ae, which continues our log, applies what its leader
// committed and, for a live entry, acknowledges it. Lock held.
func (n *raft) acceptEntry(ae *appendEntry, via protocol.Via) aeAnswer {
	live, arrivalAt := via == protocol.ViaLive, ae.arrival(via)
	if ae.shouldStore() && !n.keepEntry(ae, via) {
		return aeAnswer{}
	}
	n.noteControlEntries(ae, live)

	// Applying may return ae to the pool.
	commit, reply, leader := ae.commit, ae.reply, ae.leader
	n.followCommit(commit)
	if !live {
		// A catchup entry is acked only once it fills the gap
		// (protocol.AckCatchup): before, a success would count towards a
		// quorum for a log we do not fully hold.
		if via == protocol.ViaCatchup && protocol.AckCatchup(n.aeLocal(), arrivalAt) {
			return aeAnswer{to: reply, ar: newAppendEntryResponse(n.pterm, n.pindex, n.id, true)}
		}
		return aeAnswer{}
	}
	if n.abstain {
		// Our log now holds the leader's as of this entry, so it holds
		// every committed entry, whatever we lost: we may vote again.
		n.debug("Caught up with leader %q, voting again", leader)
		n.abstain = false
	}
	return aeAnswer{to: reply, ar: newAppendEntryResponse(n.pterm, n.pindex, n.id, true)}
}

// keepEntry makes ae part of our log: stored when it came from a leader,
// only counted when it is our own log replayed. Lock held.
func (n *raft) keepEntry(ae *appendEntry, via protocol.Via) bool {
	if via == protocol.ViaReplay {
		n.pterm, n.pindex = ae.term, ae.pindex+1
		return true
	}
	if err := n.storeToWAL(ae); err != nil {
		if !errors.Is(err, storage.ErrClosed) {
			n.warn("Could not persist entry in the log: %v", err)
		}
		return false
	}
	n.cachePendingEntry(ae)
	n.resetInitializing()
	return true
}

// noteControlEntries reacts to the entries of ae that matter before they
// commit: a leadership transfer to us (live only) and the start of a
// membership change. Lock held.
func (n *raft) noteControlEntries(ae *appendEntry, live bool) {
	for _, e := range ae.entries {
		if e.Type == EntryAddPeer || e.Type == EntryRemovePeer {
			n.membChangeIndex = n.pindex
		}
		if e.Type == EntryAddPeer && len(e.Data) == idLen {
			newPeer := string(e.Data)
			// Tracked now, official on commit.
			if n.peers[newPeer] == nil {
				n.peers[newPeer] = &lps{}
			}
			peerIDs.LoadOrStore(newPeer, newPeer)
		}
		if live && e.Type == EntryLeaderTransfer && string(e.Data) == n.id {
			n.takeTransfer()
		}
	}
}

// takeTransfer campaigns for the leadership handed to us, or, with the
// apply queue paused, remembers to once it resumes. Lock held.
func (n *raft) takeTransfer() {
	if n.observer && !n.paused {
		return
	}
	n.lxfer = true
	if n.paused {
		return
	}
	if err := n.xferCampaign(); err != nil {
		n.debug("Leader transfer campaign failed: %v", err)
	}
}

// followCommit applies our log up to the leader's commit, or holds the
// commit back while applies are paused. Lock held.
func (n *raft) followCommit(to uint64) {
	if to <= n.commit {
		return
	}
	if n.catchup != nil {
		// From here on the state machine may coalesce catchup entries.
		n.sendCatchupSignal()
	}
	if n.paused {
		n.hcommit = to
		n.debug("Apply is paused, holding back commit %d", to)
		return
	}
	for next := n.commit + 1; next <= to && n.applyCommit(next) == nil; next++ {
	}
}

// sendAppendEntryResponse encodes and sends ar, then recycles it.
func (n *raft) sendAppendEntryResponse(subject, reply string, ar *appendEntryResponse) {
	var scratch [appendEntryResponseLen]byte
	n.sendRPC(subject, reply, ar.encode(scratch[:]))
	arPool.Put(ar)
}

// isCatchupSnapshot reports whether ae is the first message of a catchup
// from a snapshot, as sendSnapshotToFollower builds it.
func (ae *appendEntry) isCatchupSnapshot() bool {
	return len(ae.entries) == 2 && ae.entries[0].Type == EntrySnapshot && ae.entries[1].Type == EntryPeerState
}

// installCatchupSnapshot handles the first entry of a catchup that starts
// past our log: it must be the leader's snapshot and peer state, which
// become our log's base; anything else means we missed the start of the
// stream, and the catchup starts over. Lock held.
func (n *raft) installCatchupSnapshot(ae *appendEntry) {
	var ps *peerState
	var err error
	if ae.isCatchupSnapshot() {
		ps, err = decodePeerState(ae.entries[1].Data)
	} else {
		err = errors.New("no snapshot plus peer state at its start")
	}
	if err != nil {
		n.warn("Catchup cannot start from [%d:%d] (%v), retrying", ae.pterm, ae.pindex, err)
		n.cancelCatchup()
		return
	}
	n.processPeerState(ps)
	hadSnapshot := n.snapfile != ""
	data := append([]byte(nil), ae.entries[0].Data...) // outlives the message buffer
	ae.entries[0].Data = data
	n.pterm, n.pindex, n.commit = ae.pterm, ae.pindex, ae.pindex
	n.logRewritten()
	// A membership change we held uncommitted is settled by the snapshot,
	// one way or the other; left pending, it would block every later one.
	if n.membChangeIndex != 0 && n.membChangeIndex <= n.commit {
		n.membChangeIndex = 0
	}
	base := &snapshot{lastTerm: ae.pterm, lastIndex: ae.pindex, data: data,
		peerstate: encodePeerState(&peerState{n.peerNames(), n.csz, n.extSt})}
	if err := n.installSnapshot(base); err != nil {
		n.setWriteErrLocked(err)
		return
	}
	n.resetInitializing()
	// A node with no state of its own may coalesce from the snapshot on;
	// one with state must first apply the snapshot as it is.
	signalFirst := !hadSnapshot
	if signalFirst {
		n.sendCatchupSignal()
	}
	n.apply.Push(newCommittedEntry(n.commit, ae.entries[:1]))
	if !signalFirst {
		n.sendCatchupSignal()
	}
}

// resetInitializing marks the node as holding data; a node added by a
// scale-up may now vote and campaign. Lock held.
func (n *raft) resetInitializing() {
	if n.initializing = false; n.scaleUp {
		n.scaleUp = false
		n.setObserverLocked(false, extUndetermined)
	}
}

// updateLeader records who leads now. Lock held.
func (n *raft) updateLeader(newLeader string) {
	wasLeader := n.leader == n.id
	n.leader = newLeader
	n.hasleader.Store(newLeader != noLeader)
	if newLeader != noLeader && n.pleader.CompareAndSwap(false, true) {
		n.settleEarlyLeadership(newLeader)
	}
	// A leader tracks every peer; a follower tracks only its leader, so
	// the other peers' last-seen times would be stale.
	if !wasLeader && newLeader != n.id {
		forgetSightings(n.peers, newLeader)
	}
}

// settleEarlyLeadership runs when the group gets its first leader: a
// scale-up from one replica signalled leadership early to avoid flapping,
// and takes it back if someone else leads. Lock held.
func (n *raft) settleEarlyLeadership(leader string) {
	early := n.maybeLeader
	n.maybeLeader = false
	if early && leader != n.id {
		n.updateLeadChange(false)
	}
}

// forgetSightings clears when every peer but keep was last heard from.
func forgetSightings(peers map[string]*lps, keep string) {
	for id, ps := range peers {
		if id != keep {
			ps.ts = time.Time{}
		}
	}
}

// processPeerState adopts the leader's peer set and cluster size, keeping
// what we know of peers that stay. Lock held.
func (n *raft) processPeerState(ps *peerState) {
	n.csz, n.qn = ps.clusterSize, ps.clusterSize/2+1
	n.peers = knownPeerSet(n.peers, ps.knownPeers)
	n.debug("Leader sent a new peer set: %+v", n.peers)
	n.writePeerState(ps)
}

// knownPeerSet is the peer map for the known peers ids, reusing the
// entries of old for peers that stay.
func knownPeerSet(old map[string]*lps, ids []string) map[string]*lps {
	next := make(map[string]*lps, len(ids))
	for _, id := range ids {
		if next[id] = old[id]; next[id] == nil {
			next[id] = &lps{}
		}
		next[id].kp = true
	}
	return next
}

// Log maintenance.

// truncateWAL drops every entry after index and takes term as the term of
// the last entry, then pulls commit, processed and applied back into the
// log if they were past it. Lock held.
func (n *raft) truncateWAL(term, index uint64) {
	n.debug("Cutting the log back to term %d, index %d", term, index)
	n.reportCut(term, index)
	if err := n.truncateLogTo(index); err != nil {
		n.warn("Log truncation failed: %v", err)
		n.setWriteErrLocked(err)
	} else {
		n.pterm, n.pindex = term, index
		n.logRewritten()
		// An uncommitted membership change that was cut never happened.
		if n.membChangeIndex > index {
			n.membChangeIndex = 0
		}
	}
	n.dropSnapshotPast(index)
	n.commit = min(n.commit, n.pindex)
	n.processed = min(n.processed, n.commit)
	n.applied = min(n.applied, n.processed)
	n.bytes = n.wal.State().Bytes
}

// reportCut logs a truncation by what it loses. Lock held.
func (n *raft) reportCut(term, index uint64) {
	whole := term == 0 && index == 0
	if index >= n.commit {
		if whole {
			n.debug("Emptying the log; nothing was committed yet")
		}
		return
	}
	if whole {
		n.warn("Discarding the whole log")
	}
	// Committed entries are never supposed to go; reaching here means the
	// log was damaged or a peer broke the protocol.
	n.error("WAL truncate lost commits: term %d index %d commit %d applied %d", term, index, n.commit, n.applied)
}

// dropSnapshotPast removes our snapshot if it covers entries after index:
// it holds the state of entries that no longer exist. Lock held.
func (n *raft) dropSnapshotPast(index uint64) {
	snap, _ := n.loadLastSnapshot()
	if snap == nil || snap.lastIndex <= index {
		return
	}
	if err := os.Remove(n.snapfile); err != nil && !errors.Is(err, os.ErrNotExist) {
		n.warn("Error removing invalidated snapshot %q: %v", n.snapfile, err)
	}
	n.snapfile = ""
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

// storeToWAL appends ae (its encoding) to our log; it must land right
// after our last entry. Lock held.
func (n *raft) storeToWAL(ae *appendEntry) error {
	switch {
	case ae == nil:
		return errors.New("raft: missing append entry for storage")
	case n.werr != nil:
		return n.werr
	}
	at, err := n.writeToLog(ae)
	if err != nil {
		n.setWriteErrLocked(err)
		return err
	}
	if at != ae.pindex+1 {
		return n.misplacedEntry(ae, at)
	}
	n.bytes += uint64(len(ae.buf))
	n.pterm, n.pindex = ae.term, at
	return nil
}

// misplacedEntry handles an entry the log stored at another index than
// the one after ae's previous: our view of the log and the log itself
// disagree, neither can be trusted, so we start over from the leader.
// Lock held.
func (n *raft) misplacedEntry(ae *appendEntry, at uint64) error {
	n.warn("Stored index mismatch for %+v: log put it at %d while pindex is %d, resetting", ae, at, n.pindex)
	wasLeader := n.State() == Leader
	n.resetWAL()
	n.cancelCatchup()
	if wasLeader {
		n.stepdownLocked(n.selectNextLeader())
	}
	return errEntryStoreFailed
}

// cachePendingEntry keeps the entry just stored at pindex in memory for
// applyCommit, up to a bound so a stalled quorum cannot exhaust memory.
// Lock held.
func (n *raft) cachePendingEntry(ae *appendEntry) {
	if len(n.pae) >= paeDropThreshold {
		// An older entry may be cached at this index with other contents.
		delete(n.pae, n.pindex)
		return
	}
	n.pae[n.pindex] = ae
	if c := len(n.pae); c >= paeWarnThreshold && c%paeWarnModulo == 0 {
		n.warn("Leader has %d unacknowledged entries queued", c)
	}
}

// Leader side.

// buildAppendEntry wraps entries in an append entry that follows our last
// log entry. Lock held.
func (n *raft) buildAppendEntry(entries []*Entry) *appendEntry {
	return newAppendEntry(n.id, n.term, n.commit, n.pterm, n.pindex, entries)
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
	return n.sendAppendEntryIn(nil, entries, checkLeader)
}

// sendAppendEntryIn is sendAppendEntryLocked encoding into memory taken
// from mem, when given (see batchMemory). Only the leader's run loop
// passes one: it is the goroutine the block helpers are counted against.
// Lock held.
func (n *raft) sendAppendEntryIn(mem *batchMemory, entries []*Entry, checkLeader bool) error {
	if checkLeader && n.State() != Leader {
		n.debug("Skipping entry send because this node no longer leads")
		return errNotLeader
	}
	ae := n.buildAppendEntry(entries)
	size, err := ae.encodedLen()
	if err != nil {
		return err
	}
	var dst []byte
	if mem != nil {
		dst = mem.take(size, &n.wg)
	}
	ae.buf = ae.encodeSized(dst, size)
	if err := n.broadcastEntry(ae); err != nil {
		return err
	}
	if n.csz == 1 {
		// Alone, we are our own quorum.
		if _, err := n.tryCommit(n.pindex); err != nil {
			n.debug("Commit of %d failed: %v", n.pindex, err)
		}
	}
	return nil
}

// broadcastEntry sends ae to the followers, storing it in our log first
// unless it is a heartbeat. Lock held.
func (n *raft) broadcastEntry(ae *appendEntry) error {
	if !ae.shouldStore() {
		n.sendOwned(n.asubj, n.areply, ae.buf)
		ae.returnToPool()
		return nil
	}
	if err := n.storeToWAL(ae); err != nil {
		return err
	}
	n.active = time.Now()
	n.cachePendingEntry(ae)
	n.sendOwned(n.asubj, n.areply, ae.buf)
	// Our own copy counts once it is durable.
	n.awaitDurable(aeAnswer{})
	return nil
}

// handleAppendEntryResponse queues a follower's response for the leader
// loop.
func (n *raft) handleAppendEntryResponse(_ transport.Subscription, subject, reply string, msg []byte) {
	if ar := decodeAppendEntryResponse(msg); ar != nil {
		ar.reply = reply
		n.resp.Push(ar)
	} else {
		n.warn("Ignoring corrupt append entry response of %d bytes on %q", len(msg), subject)
	}
}

// processAppendEntryResponse handles a follower's answer as
// protocol.Answer decides: count a success towards committing, serve a
// follower that misses entries, or give up leadership to a newer term.
func (n *raft) processAppendEntryResponse(ar *appendEntryResponse) {
	n.afterCommit(n.answerResponse(ar))
}

// answerResponse is processAppendEntryResponse but for what follows a
// commit, which it reports so that a batch of responses is followed up
// once.
func (n *raft) answerResponse(ar *appendEntryResponse) (committed bool, err error) {
	if err := n.trackPeer(ar.peer); err != nil {
		n.debug("Error tracking peer %q: %v", ar.peer, err)
	}
	reply := protocol.Reply{Success: ar.success, Term: ar.term, Index: ar.index, Inbox: ar.reply != ""}
	switch protocol.Answer(n.Term(), reply) {
	case protocol.CountAck:
		committed, err = n.countAck(ar)
	case protocol.ServeGap:
		// Whoever serves the gap recycles ar.
		n.serveGap(ar)
		return false, nil
	case protocol.YieldTerm:
		n.giveWayToTerm(ar.term)
	}
	arPool.Put(ar)
	return committed, err
}

// countAck counts a follower's store towards committing and reports
// whether something committed.
func (n *raft) countAck(ar *appendEntryResponse) (bool, error) {
	n.Lock()
	defer n.Unlock()
	if !n.trackResponse(ar) {
		return false, nil
	}
	return n.tryCommit(ar.index)
}

// giveWayToTerm gives up leadership to a newer term a follower reported.
func (n *raft) giveWayToTerm(term uint64) {
	n.Lock()
	defer n.Unlock()
	n.term, n.vote = term, noVote
	n.writeTermVote()
	n.warn("A leader with a newer term exists, giving up leadership")
	n.stepdownLocked(noLeader)
}

// serveGap serves a follower that asked for the entries after ar.index:
// re-sent at once from our log when protocol.Resend allows, else by a
// catchup stream. It recycles ar.
func (n *raft) serveGap(ar *appendEntryResponse) {
	n.Lock()
	resent := n.State() == Leader && n.resendLocked(ar)
	n.Unlock()
	if resent {
		arPool.Put(ar)
		return
	}
	n.ap.streams.Add(1)
	n.catchupFollower(ar)
}

// resendLocked re-sends the entries after ar.index to the follower's
// catchup inbox, straight from our log, when the gap is short. It sends
// nothing unless every entry loads. Lock held.
func (n *raft) resendLocked(ar *appendEntryResponse) bool {
	st := n.wal.State()
	plan := protocol.Resend(n.catchupAnchor(ar), protocol.Log{
		FirstIndex: st.FirstIndex, LastIndex: n.pindex, Entries: st.Entries,
		Streaming: n.streamingTo(ar.peer),
	})
	if !plan.Resend {
		return false
	}
	bufs := make([][]byte, 0, plan.To-plan.From+1)
	for index := plan.From; index <= plan.To; index++ {
		ae, err := n.loadEntry(index)
		if err != nil {
			n.debug("Resend to %q falls back to a catchup: index %d: %v", ar.peer, index, err)
			return false
		}
		// Like catchup entries, they carry our term for the follower's
		// term check.
		ae.lterm = n.term
		buf, err := ae.encode(nil)
		if err != nil {
			return false
		}
		bufs = append(bufs, buf)
	}
	n.debug("Re-sending [%d..%d] to %q", plan.From, plan.To, ar.peer)
	for _, buf := range bufs {
		n.sendRPC(ar.reply, n.areply, buf)
	}
	n.ap.resent.Add(uint64(len(bufs)))
	return true
}
