package raftport

func (n *raft) loadFirstEntry() (ae *appendEntry, err error) {
	panic("unported: feature 2731")
}

func (n *raft) runCatchup(ar *appendEntryResponse, indexUpdatesQ *IPQueue[uint64]) {
	panic("unported: feature 2732")
}

func (n *raft) sendSnapshotToFollower(subject string) (uint64, error) {
	panic("unported: feature 2733")
}

func (n *raft) catchupFollower(ar *appendEntryResponse) {
	panic("unported: feature 2734")
}

func (n *raft) loadEntry(index uint64) (*appendEntry, error) {
	panic("unported: feature 2735")
}

func (n *raft) cancelCatchup() {
	panic("unported: feature 2743")
}

func (n *raft) catchupStalled() bool {
	panic("unported: feature 2744")
}

func (n *raft) createCatchup(ae *appendEntry) string {
	panic("unported: feature 2745")
}

func (n *raft) sendCatchupSignal() {
	panic("unported: feature 2746")
}

func (n *raft) cancelCatchupSignal() {
	panic("unported: feature 2747")
}
