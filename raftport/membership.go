package raftport

import (
	"bytes"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/protocol"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// handleForwardedRemovePeerProposal takes a follower's ProposeRemovePeer.
// The leader applies protocol.MayChange; a refused removal is dropped
// and the follower's caller retries.
func (n *raft) handleForwardedRemovePeerProposal(_ transport.Subscription, _, reply string, msg []byte) {
	n.debug("Follower asks to remove peer %q", msg)
	if len(msg) != idLen {
		n.warn("Peer removal names an unusable peer %q", msg)
		return
	}
	n.intakeForwarded(EntryRemovePeer, msg, reply)
}

// handleForwardedProposal takes a follower's ForwardProposal.
func (n *raft) handleForwardedProposal(_ transport.Subscription, _, reply string, msg []byte) {
	n.intakeForwarded(EntryNormal, msg, reply)
}

// intakeForwarded queues a proposal a follower forwarded. A leader that
// still has entries of earlier terms to apply drops it: until then
// Leader() is false and the upper layer does not act as leader, so
// neither does the intake. The transport may reuse msg once we return.
func (n *raft) intakeForwarded(t EntryType, msg []byte, reply string) {
	n.RLock()
	req := n.changeRequestLocked(protocol.RemovePeer, n.State() == Leader && n.leaderState.Load())
	prop := n.prop
	n.RUnlock()

	if t == EntryNormal {
		// Not a change: only leadership and the log's health matter.
		req.Kind, req.Pending = protocol.AddPeer, 0
	}
	if verdict := protocol.MayChange(req); verdict != protocol.ChangeAllowed {
		n.debug("Forwarded %v proposal dropped: %v", t, changeRefusalText[verdict])
		return
	}
	prop.Push(newProposedEntry(newEntry(t, bytes.Clone(msg)), reply))
}

// changeRefusalText explains a dropped forwarded proposal.
var changeRefusalText = map[protocol.ChangeVerdict]string{
	protocol.ChangeNotLeader:   "this node does not lead",
	protocol.ChangeWriteFailed: "the log failed a write",
	protocol.ChangePending:     "another membership change is underway",
	protocol.ChangeLastPeer:    "it would remove the last peer",
}

// addPeer makes peer a known member, resizes the quorum and persists the
// new peer set. A peer removed earlier may come back. The caller holds
// the node lock.
func (n *raft) addPeer(peer string) {
	delete(n.removed, peer)
	lp := n.peers[peer]
	if lp == nil {
		lp = &lps{}
		n.peers[peer] = lp
	}
	lp.kp = true
	n.membershipChanged()
}

// removePeer drops peer from the membership and remembers when, so that
// its late messages do not make it look like a new member. The caller
// holds the node lock.
func (n *raft) removePeer(peer string) {
	_, member := n.peers[peer]
	delete(n.peers, peer)
	n.noteRemoved(peer)
	if member {
		n.membershipChanged()
	}
}

// noteRemoved remembers when peer left. The caller holds the node lock.
func (n *raft) noteRemoved(peer string) {
	if n.removed == nil {
		n.removed = make(map[string]time.Time)
	}
	n.removed[peer] = time.Now()
}

// membershipChanged resizes the cluster and persists the peer set. The
// caller holds the node lock.
func (n *raft) membershipChanged() {
	n.adjustClusterSizeAndQuorum()
	n.writePeerState(n.currentPeerStateLocked())
}

// sendMembershipChange stores and sends e, an EntryAddPeer or
// EntryRemovePeer, and applies it to our own membership at once. It
// reports whether the entry reached the WAL and the followers. Only one
// membership change may be uncommitted at a time.
func (n *raft) sendMembershipChange(e *Entry) bool {
	n.Lock()
	defer n.Unlock()
	if !e.ChangesMembership() || n.membChangeIndex != 0 {
		return false
	}
	// Pending before the send: a lone node commits during it.
	n.membChangeIndex = n.pindex + 1
	sent := n.sendAppendEntryLocked([]*Entry{e}, true) == nil
	if sent {
		n.adoptOwnChange(e.Type, string(e.Data))
	} else {
		n.membChangeIndex = 0
	}
	return sent
}

// adoptOwnChange applies a membership change the leader just logged to its
// own view at once. The caller holds the node lock.
func (n *raft) adoptOwnChange(t EntryType, peer string) {
	if t == EntryAddPeer {
		n.addPeer(peer)
		return
	}
	n.removePeer(peer)
	if n.csz != 1 {
		return
	}
	// Alone now, nobody else will ack: commit on our own.
	if _, err := n.tryCommit(n.pindex); err != nil {
		n.warn("Could not commit membership change at %d: %v", n.pindex, err)
	}
}
