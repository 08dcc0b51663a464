package raftport

func (n *raft) runAsLeader() {
	panic("unported: feature 2725")
}

func (n *raft) Quorum() bool {
	panic("unported: feature 2726")
}

func (n *raft) lostQuorum() bool {
	panic("unported: feature 2727")
}

func (n *raft) lostQuorumLocked() bool {
	panic("unported: feature 2728")
}

func (n *raft) notActive() bool {
	panic("unported: feature 2729")
}

func (n *raft) Term() uint64 {
	panic("unported: feature 2730")
}
