package raftport

func (n *raft) PauseApply() error {
	panic("unported: feature 2628")
}

func (n *raft) pauseApplyLocked() {
	panic("unported: feature 2629")
}

func (n *raft) ResumeApply() {
	panic("unported: feature 2630")
}

func (n *raft) DrainAndReplaySnapshot() bool {
	panic("unported: feature 2631")
}

func (n *raft) Applied(index uint64) (entries uint64, bytes uint64) {
	panic("unported: feature 2632")
}

func (n *raft) Processed(index uint64, applied uint64) (entries uint64, bytes uint64) {
	panic("unported: feature 2633")
}
