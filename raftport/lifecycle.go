package raftport

import (
	"time"
)

func (n *raft) State() RaftState {
	panic("unported: feature 2666")
}

func (n *raft) Progress() (index, commit, applied uint64) {
	panic("unported: feature 2667")
}

func (n *raft) Size() (entries uint64, bytes uint64) {
	panic("unported: feature 2668")
}

func (n *raft) ID() string {
	panic("unported: feature 2669")
}

func (n *raft) Group() string {
	panic("unported: feature 2670")
}

func (n *raft) Peers() []*Peer {
	panic("unported: feature 2671")
}

func (n *raft) ProposeKnownPeers(knownPeers []string) {
	panic("unported: feature 2672")
}

func (n *raft) UpdateKnownPeers(knownPeers []string) {
	panic("unported: feature 2673")
}

func (n *raft) updateKnownPeersLocked(knownPeers []string) {
	panic("unported: feature 2674")
}

func (n *raft) ApplyQ() *IPQueue[*CommittedEntry] {
	panic("unported: feature 2675")
}

func (n *raft) LeadChangeC() <-chan bool {
	panic("unported: feature 2676")
}

func (n *raft) QuitC() <-chan struct{} {
	panic("unported: feature 2677")
}

func (n *raft) Created() time.Time {
	panic("unported: feature 2678")
}

func (n *raft) Stop() {
	panic("unported: feature 2679")
}

func (n *raft) WaitForStop() {
	panic("unported: feature 2680")
}

func (n *raft) Delete() {
	panic("unported: feature 2681")
}

func (n *raft) IsDeleted() bool {
	panic("unported: feature 2682")
}

func (n *raft) shutdown() {
	panic("unported: feature 2683")
}
