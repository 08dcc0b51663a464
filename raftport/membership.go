package raftport

import (
	"bytes"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// handleForwardedRemovePeerProposal takes a follower's ProposeRemovePeer.
// Only an up-to-date leader with no membership change pending accepts it;
// otherwise it is dropped and the follower's caller retries.
func (n *raft) handleForwardedRemovePeerProposal(_ transport.Subscription, _, reply string, msg []byte) {
	n.debug("Follower asks to remove peer %q", msg)
	if len(msg) != idLen {
		n.warn("Peer removal names an unusable peer %q", msg)
		return
	}

	n.RLock()
	if n.State() != Leader || !n.leaderState.Load() {
		n.debug("Peer removal from a follower dropped: this node does not lead")
		n.RUnlock()
		return
	}
	if n.werr != nil {
		n.RUnlock()
		return
	}
	if n.membChangeIndex > 0 {
		n.debug("Peer removal from a follower dropped: another membership change is underway")
		n.RUnlock()
		return
	}
	prop := n.prop
	n.RUnlock()

	// The transport may reuse msg once we return.
	prop.Push(newProposedEntry(newEntry(EntryRemovePeer, bytes.Clone(msg)), reply))
}

// handleForwardedProposal takes a follower's ForwardProposal. A leader
// that still has entries of earlier terms to apply drops it: until
// then Leader() is false and the upper layer does not act as leader, so
// neither should its proposal intake.
func (n *raft) handleForwardedProposal(_ transport.Subscription, _, reply string, msg []byte) {
	// The transport may reuse msg once we return.
	msg = bytes.Clone(msg)

	n.RLock()
	if n.State() != Leader || !n.leaderState.Load() {
		n.debug("Proposal from a follower dropped: this node does not lead")
		n.RUnlock()
		return
	}
	prop, werr := n.prop, n.werr
	n.RUnlock()

	if werr != nil {
		return
	}
	prop.Push(newProposedEntry(newEntry(EntryNormal, msg), reply))
}

// addPeer makes peer a known member, resizes the quorum and persists the
// new peer set.
// The caller holds the node lock.
func (n *raft) addPeer(peer string) {
	// A peer removed earlier may come back.
	delete(n.removed, peer)

	if lp, ok := n.peers[peer]; ok {
		lp.kp = true
	} else {
		n.peers[peer] = &lps{kp: true}
	}
	n.adjustClusterSizeAndQuorum()
	n.writePeerState(&peerState{knownPeers: n.peerNames(), clusterSize: n.csz, domainExt: n.extSt})
}

// removePeer drops peer from the membership and remembers when, so that
// late messages from it are not mistaken for a new member.
// The caller holds the node lock.
func (n *raft) removePeer(peer string) {
	if n.removed == nil {
		n.removed = make(map[string]time.Time)
	}
	n.removed[peer] = time.Now()
	if _, ok := n.peers[peer]; !ok {
		return
	}
	delete(n.peers, peer)
	n.adjustClusterSizeAndQuorum()
	n.writePeerState(&peerState{knownPeers: n.peerNames(), clusterSize: n.csz, domainExt: n.extSt})
}

// sendMembershipChange stores and sends e, an EntryAddPeer or
// EntryRemovePeer, and applies it to our own membership at once. It
// reports whether the entry reached the WAL and the followers. Only one
// membership change may be uncommitted at a time.
func (n *raft) sendMembershipChange(e *Entry) bool {
	n.Lock()
	defer n.Unlock()

	if !e.ChangesMembership() || n.membChangeIndex > 0 {
		return false
	}
	// Set before sending: a single-node group commits during the send.
	n.membChangeIndex = n.pindex + 1
	if err := n.sendAppendEntryLocked([]*Entry{e}, true); err != nil {
		n.membChangeIndex = 0
		return false
	}

	switch e.Type {
	case EntryAddPeer:
		n.addPeer(string(e.Data))
	case EntryRemovePeer:
		n.removePeer(string(e.Data))
		// Alone now, nobody else will ack: commit on our own.
		if n.csz == 1 {
			if _, err := n.tryCommit(n.pindex); err != nil {
				n.warn("Could not commit membership change at %d: %v", n.pindex, err)
			}
		}
	}
	return true
}
