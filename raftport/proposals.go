package raftport

import (
	"context"
	"runtime"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
)

// Propose queues data as a normal entry, fire and forget: nothing tells
// the caller whether it commits (ProposeWait does). Only the leader may
// propose; others get ErrNotLeader.
func (n *raft) Propose(data []byte) error {
	return n.enqueue(nil, func() []*Entry { return []*Entry{newEntry(EntryNormal, data)} })
}

// ProposeMulti queues several entries at once, as Propose does one.
func (n *raft) ProposeMulti(entries []*Entry) error {
	return n.enqueue(nil, func() []*Entry { return entries })
}

// ProposeWait proposes data as a normal entry and waits for its outcome:
// where it committed (the CommittedEntry's Index and the entry's position
// in its Entries), or why it cannot be known. ErrNotLeader means the entry
// never reached the log: it will not commit, retry at the leader. A
// leadership change after the entry reached the log gives
// ErrOutcomeUnknown: it may or may not commit. ctx ending while the entry
// still waits in the proposal queue withdraws it and returns ctx.Err();
// once sent, it returns ErrOutcomeUnknown. Stopping the node gives
// ErrNodeClosed for an entry never sent, ErrOutcomeUnknown for one sent.
// The outcome is reported when the leader commits the entry, before the
// state machine applied it.
func (n *raft) ProposeWait(ctx context.Context, data []byte) (Outcome, error) {
	w := newWaiter()
	if err := n.enqueue(w, func() []*Entry { return []*Entry{newEntry(EntryNormal, data)} }); err != nil {
		return Outcome{}, err
	}
	select {
	case r := <-w.done:
		return r.at, r.err
	case <-ctx.Done():
		return n.outcomes.withdraw(w, ctx.Err())
	case <-n.quit:
		return n.outcomes.withdraw(w, ErrNodeClosed)
	}
}

// enqueue puts the entries that build makes on the proposal queue, when
// this node may propose; w, when given, waits on the single entry.
func (n *raft) enqueue(w *waiter, build func() []*Entry) error {
	n.Lock()
	defer n.Unlock()
	if err := n.mayProposeLocked(); err != nil {
		return err
	}
	for _, e := range build() {
		pe := newProposedEntry(e, "")
		if w != nil {
			pe.wait = n.outcomes.track(w)
		}
		n.prop.Push(pe)
	}
	return nil
}

// mayProposeLocked refuses proposals to a node that does not lead or
// whose log failed a write. The caller holds the node lock.
func (n *raft) mayProposeLocked() error {
	if state := n.State(); state != Leader {
		n.debug("Proposal refused in state %v: only the leader accepts them", state)
		return errNotLeader
	}
	return n.werr
}

// ForwardProposal proposes entry here when we lead, or else sends it to
// whoever leads. Forwarded proposals carry no reply subject, as in the
// reference, whose older peers would not answer one.
func (n *raft) ForwardProposal(entry []byte) error {
	if n.State() != Leader {
		return n.forward(n.psubj, entry)
	}
	return n.Propose(entry)
}

// forward sends data to the leader on subj, without waiting for an answer.
func (n *raft) forward(subj string, data []byte) error {
	n.sendRPC(subj, "", data)
	return nil
}

// ProposeAddPeer proposes adding peer to the group; see changeVerdict
// for who may.
func (n *raft) ProposeAddPeer(peer string) error {
	return n.proposeChange(protocol.AddPeer, peer)
}

// ProposeRemovePeer proposes removing peer from the group. A follower
// forwards it to the leader, which applies the same rule.
func (n *raft) ProposeRemovePeer(peer string) error {
	return n.proposeChange(protocol.RemovePeer, peer)
}

// proposeChange queues a membership change that protocol.MayChange
// allows, or returns why not.
func (n *raft) proposeChange(kind protocol.ChangeKind, peer string) error {
	n.RLock()
	verdict := protocol.MayChange(n.changeRequestLocked(kind, n.State() == Leader))
	werr, prop, forwardTo := n.werr, n.prop, n.rpsubj
	n.RUnlock()

	switch {
	case verdict == protocol.ChangeAllowed:
		prop.Push(newProposedEntry(newEntry(changeEntryType[kind], []byte(peer)), ""))
		return nil
	case verdict == protocol.ChangeNotLeader && kind == protocol.RemovePeer:
		return n.forward(forwardTo, []byte(peer))
	case verdict == protocol.ChangeWriteFailed:
		return werr
	}
	return changeRefusal[verdict]
}

// changeEntryType is the log entry of each kind of membership change.
var changeEntryType = map[protocol.ChangeKind]EntryType{
	protocol.AddPeer:    EntryAddPeer,
	protocol.RemovePeer: EntryRemovePeer,
}

// changeRefusal is the error a refused membership change returns.
var changeRefusal = map[protocol.ChangeVerdict]error{
	protocol.ChangeNotLeader: errNotLeader,
	protocol.ChangePending:   errMembershipChange,
	protocol.ChangeLastPeer:  errRemoveLastNode,
}

// changeRequestLocked is a membership change as protocol.MayChange sees
// it. The caller holds the node lock.
func (n *raft) changeRequestLocked(kind protocol.ChangeKind, leading bool) protocol.ChangeRequest {
	return protocol.ChangeRequest{
		Kind: kind, Leading: leading, WriteFailed: n.werr != nil,
		Pending: n.membChangeIndex, Peers: len(n.peers),
	}
}

// MembershipChangeInProgress reports whether a peer add or remove is in
// the log but still uncommitted.
func (n *raft) MembershipChangeInProgress() bool {
	n.RLock()
	defer n.RUnlock()
	return n.membChangeIndex != 0
}

// AdjustBootClusterSize changes the expected size of a group that has
// never had a leader, e.g. when the boot peer count was a guess.
func (n *raft) AdjustBootClusterSize(csz int) error {
	return n.resize(csz, false, func() bool { return n.leader == noLeader && !n.pleader.Load() }, errAdjustBootCluster)
}

// AdjustClusterSize changes the group size and tells the followers. Only
// the leader may.
func (n *raft) AdjustClusterSize(csz int) error {
	return n.resize(csz, true, func() bool { return n.State() == Leader }, errNotLeader)
}

// resize sets the cluster size by hand (protocol.Sized) when allowed,
// asked under the node lock, says so, and then announces the new peer
// state to the followers if told to; otherwise it returns refusal.
func (n *raft) resize(csz int, announce bool, allowed func() bool, refusal error) error {
	n.Lock()
	defer n.Unlock()
	if !allowed() {
		return refusal
	}
	n.csz, n.qn = protocol.Sized(csz)
	if announce {
		n.sendPeerState()
	}
	return nil
}

// ClusterSize is the group size that quorum is computed from.
func (n *raft) ClusterSize() int {
	n.RLock()
	defer n.RUnlock()
	return n.csz
}

// sendProposals drains the proposal queue into batched append entries.
// A membership change travels alone, so it is sent apart; a proposal
// withdrawn by its waiter is not sent at all.
func (n *raft) sendProposals() {
	queued := n.prop.Pop()
	if len(queued) < gatherBelow && n.entriesInFlight() {
		// Proposers woken by the last commit are about to propose again:
		// let them, so that they share this append entry instead of each
		// paying for its own write, send, acks and fsync share.
		runtime.Gosched()
		queued = append(queued, n.prop.Pop()...)
	}
	var b proposalBatch
	for _, pe := range queued {
		switch {
		case pe.ChangesMembership():
			n.sendMembershipChange(pe.Entry)
		case n.outcomes.claim(pe.wait):
			if b.add(pe) {
				n.sendBatch(&b)
			}
		}
	}
	n.sendBatch(&b)
	for _, pe := range queued {
		if pe.reply != "" {
			n.sendReply(pe.reply, nil)
		}
		pe.returnToPool()
	}
	n.prop.Recycle(&queued)
}

// proposalBatch gathers normal proposals into one append entry.
type proposalBatch struct {
	entries []*Entry
	waits   []*waiter // per entry, nil when nobody waits
	bytes   int
}

// add appends pe and reports whether the batch is full.
func (b *proposalBatch) add(pe *proposedEntry) bool {
	b.entries = append(b.entries, pe.Entry)
	b.waits = append(b.waits, pe.wait)
	b.bytes += len(pe.Data) + 1
	return b.bytes >= maxProposalBatchBytes || len(b.entries) >= maxProposalBatchEntries
}

// sendBatch stores and sends the batch, if not empty, and starts afresh:
// the sent slice stays referenced by the pending cache. The waiters learn
// their index before the send, since a lone node commits during it.
func (n *raft) sendBatch(b *proposalBatch) {
	if len(b.entries) == 0 {
		return
	}
	n.Lock()
	n.outcomes.place(b.waits, n.pindex+1)
	if err := n.sendAppendEntryIn(&n.batches, b.entries, true); err != nil {
		n.debug("Append entry not sent: %v", err)
		n.outcomes.unplace(b.waits, err)
	}
	n.Unlock()
	*b = proposalBatch{}
}

// gatherBelow is the batch size under which the leader waits a moment for
// more proposals while earlier ones are still in flight.
const gatherBelow = 16

// entriesInFlight reports whether something we sent is not committed yet.
func (n *raft) entriesInFlight() bool {
	n.RLock()
	defer n.RUnlock()
	return n.pindex > n.commit
}
