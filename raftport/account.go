package raftport

func (n *raft) checkAccountNRGStatus() bool {
	panic("unported: feature 2603")
}

func (n *raft) IsSystemAccount() bool {
	panic("unported: feature 2604")
}

func (n *raft) GetTrafficAccountName() string {
	panic("unported: feature 2605")
}

func (n *raft) RecreateInternalSubs() error {
	panic("unported: feature 2606")
}

func (n *raft) recreateInternalSubsLocked() error {
	panic("unported: feature 2607")
}

func (n *raft) outOfResources() bool {
	panic("unported: feature 2608")
}
