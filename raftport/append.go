package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

func (n *raft) handleAppendEntry(sub transport.Subscription, _, reply string, msg []byte) {
	panic("unported: feature 2742")
}

func (n *raft) truncateWAL(term, index uint64) {
	panic("unported: feature 2748")
}

func (n *raft) resetWAL() {
	panic("unported: feature 2749")
}

func (n *raft) updateLeader(newLeader string) {
	panic("unported: feature 2750")
}

func (n *raft) processAppendEntry(ae *appendEntry, sub transport.Subscription) {
	panic("unported: feature 2751")
}

func (n *raft) resetInitializing() {
	panic("unported: feature 2752")
}

func (n *raft) processPeerState(ps *peerState) {
	panic("unported: feature 2753")
}

func (n *raft) processAppendEntryResponse(ar *appendEntryResponse) {
	panic("unported: feature 2754")
}

func (n *raft) handleAppendEntryResponse(sub transport.Subscription, subject, reply string, msg []byte) {
	panic("unported: feature 2755")
}

func (n *raft) buildAppendEntry(entries []*Entry) *appendEntry {
	panic("unported: feature 2756")
}

func (n *raft) storeToWAL(ae *appendEntry) error {
	panic("unported: feature 2758")
}

func (n *raft) sendAppendEntry(entries []*Entry) {
	panic("unported: feature 2759")
}

func (n *raft) sendAppendEntryLocked(entries []*Entry, checkLeader bool) error {
	panic("unported: feature 2760")
}

func (n *raft) cachePendingEntry(ae *appendEntry) {
	panic("unported: feature 2761")
}
