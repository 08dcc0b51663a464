package raftport

// Propose queues data as a normal entry. Only the leader may propose.
func (n *raft) Propose(data []byte) error {
	n.Lock()
	defer n.Unlock()
	// Leadership may have been lost since the caller last looked.
	if state := n.State(); state != Leader {
		n.debug("Proposal dropped in state %v: only the leader accepts them", state)
		return errNotLeader
	}
	if n.werr != nil {
		return n.werr
	}
	n.prop.Push(newProposedEntry(newEntry(EntryNormal, data), ""))
	return nil
}

// ProposeMulti queues several entries at once. Only the leader may
// propose.
func (n *raft) ProposeMulti(entries []*Entry) error {
	n.Lock()
	defer n.Unlock()
	if state := n.State(); state != Leader {
		n.debug("Batch proposal dropped in state %v: only the leader accepts them", state)
		return errNotLeader
	}
	if n.werr != nil {
		return n.werr
	}
	for _, e := range entries {
		n.prop.Push(newProposedEntry(e, ""))
	}
	return nil
}

// ForwardProposal proposes entry here when we lead, or else sends it to
// whoever leads. Forwarded proposals carry no reply subject, as in the
// reference, whose older peers would not answer one.
func (n *raft) ForwardProposal(entry []byte) error {
	if n.State() == Leader {
		return n.Propose(entry)
	}
	n.sendRPC(n.psubj, "", entry)
	return nil
}

// ProposeAddPeer proposes adding peer to the group. Only the leader may,
// and only while no other membership change is uncommitted.
func (n *raft) ProposeAddPeer(peer string) error {
	n.RLock()
	if n.State() != Leader {
		n.RUnlock()
		return errNotLeader
	}
	if werr := n.werr; werr != nil {
		n.RUnlock()
		return werr
	}
	if n.membChangeIndex > 0 {
		n.RUnlock()
		return errMembershipChange
	}
	prop := n.prop
	n.RUnlock()

	prop.Push(newProposedEntry(newEntry(EntryAddPeer, []byte(peer)), ""))
	return nil
}

// ProposeRemovePeer proposes removing peer from the group. A follower
// forwards the proposal to the leader, which applies the same checks.
func (n *raft) ProposeRemovePeer(peer string) error {
	n.RLock()
	if werr := n.werr; werr != nil {
		n.RUnlock()
		return werr
	}
	if n.State() != Leader {
		subj := n.rpsubj
		n.RUnlock()
		n.sendRPC(subj, "", []byte(peer))
		return nil
	}
	if n.membChangeIndex > 0 {
		n.RUnlock()
		return errMembershipChange
	}
	if len(n.peers) <= 1 {
		n.RUnlock()
		return errRemoveLastNode
	}
	prop := n.prop
	n.RUnlock()

	prop.Push(newProposedEntry(newEntry(EntryRemovePeer, []byte(peer)), ""))
	return nil
}

// MembershipChangeInProgress reports whether a peer add or remove is in
// the log but still uncommitted.
func (n *raft) MembershipChangeInProgress() bool {
	n.RLock()
	defer n.RUnlock()
	return n.membChangeIndex > 0
}

// ClusterSize is the group size that quorum is computed from.
func (n *raft) ClusterSize() int {
	n.Lock()
	defer n.Unlock()
	return n.csz
}

// minClusterSize is the floor bootstrap applies too: a group sized below
// two would make a lone node its own quorum.
const minClusterSize = 2

// setClusterSizeLocked sets the cluster size, at least minClusterSize,
// and the quorum that follows from it.
// The caller holds the node lock.
func (n *raft) setClusterSizeLocked(csz int) {
	n.csz = max(csz, minClusterSize)
	n.qn = n.csz/2 + 1
}

// AdjustBootClusterSize changes the expected size of a group that has
// never had a leader, e.g. when the boot peer count was a guess.
func (n *raft) AdjustBootClusterSize(csz int) error {
	n.Lock()
	defer n.Unlock()
	if n.leader != noLeader || n.pleader.Load() {
		return errAdjustBootCluster
	}
	n.setClusterSizeLocked(csz)
	return nil
}

// AdjustClusterSize changes the group size and tells the followers. Only
// the leader may.
func (n *raft) AdjustClusterSize(csz int) error {
	n.Lock()
	defer n.Unlock()
	if n.State() != Leader {
		return errNotLeader
	}
	n.setClusterSizeLocked(csz)
	n.sendPeerState()
	return nil
}
