package raftport

import (
	"maps"
	"slices"
)

// peerNames lists the known (voting) peers, us included when we are one.
// Lock held.
func (n *raft) peerNames() []string {
	ids := slices.Collect(maps.Keys(n.peers))
	return slices.DeleteFunc(ids, func(id string) bool { return !n.peers[id].kp })
}

func (n *raft) currentPeerState() *peerState {
	n.RLock()
	defer n.RUnlock()
	return n.currentPeerStateLocked()
}

// currentPeerStateLocked is the peer state we would persist or send. Lock
// held.
func (n *raft) currentPeerStateLocked() *peerState {
	return &peerState{knownPeers: n.peerNames(), clusterSize: n.csz, domainExt: n.extSt}
}

// sendPeerState replicates our peer set as a log entry, so followers adopt
// it once it commits. Lock held.
func (n *raft) sendPeerState() {
	entry := &Entry{Type: EntryPeerState, Data: encodePeerState(n.currentPeerStateLocked())}
	if err := n.sendAppendEntryLocked([]*Entry{entry}, true); err != nil {
		n.debug("Could not send peer state: %v", err)
	}
}

// sendHeartbeat sends an empty append entry: it carries our commit index
// and keeps followers from starting an election.
func (n *raft) sendHeartbeat() {
	n.sendAppendEntry(nil)
}
