package raftport

func (n *raft) Propose(data []byte) error {
	panic("unported: feature 2619")
}

func (n *raft) ProposeMulti(entries []*Entry) error {
	panic("unported: feature 2620")
}

func (n *raft) ForwardProposal(entry []byte) error {
	panic("unported: feature 2621")
}

func (n *raft) ProposeAddPeer(peer string) error {
	panic("unported: feature 2622")
}

func (n *raft) ProposeRemovePeer(peer string) error {
	panic("unported: feature 2623")
}

func (n *raft) MembershipChangeInProgress() bool {
	panic("unported: feature 2624")
}

func (n *raft) ClusterSize() int {
	panic("unported: feature 2625")
}

func (n *raft) AdjustBootClusterSize(csz int) error {
	panic("unported: feature 2626")
}

func (n *raft) AdjustClusterSize(csz int) error {
	panic("unported: feature 2627")
}
