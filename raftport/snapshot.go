package raftport

func (n *raft) encodeSnapshot(snap *snapshot) []byte {
	panic("unported: feature 2634")
}

func (n *raft) SendSnapshot(data []byte) error {
	panic("unported: feature 2635")
}

func (n *raft) InstallSnapshot(data []byte, force bool) error {
	panic("unported: feature 2636")
}

func (n *raft) installSnapshot(snap *snapshot) error {
	panic("unported: feature 2637")
}

func (n *raft) NeedSnapshot() bool {
	panic("unported: feature 2644")
}

func termAndIndexFromSnapFile(sn string) (term, index uint64, err error) {
	panic("unported: feature 2645")
}

func (n *raft) setupLastSnapshot() error {
	panic("unported: feature 2646")
}

func (n *raft) loadLastSnapshot() (*snapshot, error) {
	panic("unported: feature 2647")
}
