package raftport

import (
	"time"
)

func (n *raft) Leader() bool {
	panic("unported: feature 2648")
}

func (n *raft) LeaderSince() *time.Time {
	panic("unported: feature 2649")
}

func (n *raft) stepdown(newLeader string) {
	panic("unported: feature 2650")
}

func (n *raft) stepdownLocked(newLeader string) {
	panic("unported: feature 2651")
}

func (n *raft) isCatchingUp() bool {
	panic("unported: feature 2652")
}

func (n *raft) isCurrent(includeForwardProgress bool) bool {
	panic("unported: feature 2653")
}

func (n *raft) Current() bool {
	panic("unported: feature 2654")
}

func (n *raft) Healthy() bool {
	panic("unported: feature 2655")
}

func (n *raft) HadPreviousLeader() bool {
	panic("unported: feature 2656")
}

func (n *raft) GroupLeader() string {
	panic("unported: feature 2657")
}

func (n *raft) Leaderless() bool {
	panic("unported: feature 2658")
}

func (n *raft) updateLeadChange(isLeader bool) {
	panic("unported: feature 2791")
}

func (n *raft) switchState(state RaftState) bool {
	panic("unported: feature 2792")
}

func (n *raft) switchToFollower(leader string) {
	panic("unported: feature 2793")
}

func (n *raft) switchToFollowerLocked(leader string) {
	panic("unported: feature 2794")
}

func (n *raft) switchToCandidate() {
	panic("unported: feature 2795")
}

func (n *raft) switchToLeader() {
	panic("unported: feature 2796")
}
