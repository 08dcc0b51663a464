package raftport

func (n *raft) applyCommit(index uint64) error {
	panic("unported: feature 2736")
}

func (n *raft) tryCommit(index uint64) (bool, error) {
	panic("unported: feature 2737")
}

func (n *raft) trackResponse(ar *appendEntryResponse) bool {
	panic("unported: feature 2738")
}

func (n *raft) adjustClusterSizeAndQuorum() {
	panic("unported: feature 2739")
}

func (n *raft) trackPeer(peer string) error {
	panic("unported: feature 2740")
}
