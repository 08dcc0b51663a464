package raftport

import (
	"iter"
)

func (n *raft) CreateSnapshotCheckpoint(force bool) (RaftNodeCheckpoint, error) {
	panic("unported: feature 2638")
}

func (n *raft) createSnapshotCheckpointLocked(force bool) (*checkpoint, error) {
	panic("unported: feature 2639")
}

func (c *checkpoint) LoadLastSnapshot() ([]byte, error) {
	panic("unported: feature 2640")
}

func (c *checkpoint) AppendEntriesSeq() iter.Seq2[*appendEntry, error] {
	panic("unported: feature 2641")
}

func (c *checkpoint) Abort() {
	panic("unported: feature 2642")
}

func (c *checkpoint) InstallSnapshot(data []byte) (uint64, error) {
	panic("unported: feature 2643")
}
