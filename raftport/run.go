package raftport

import (
	"time"
)

func randElectionTimeout(tm *Timing) time.Duration {
	panic("unported: feature 2689")
}

func (n *raft) resetElectionTimeout() {
	panic("unported: feature 2690")
}

func (n *raft) resetElectionTimeoutWithLock() {
	panic("unported: feature 2691")
}

func (n *raft) resetElect(et time.Duration) {
	panic("unported: feature 2692")
}

func (n *raft) resetElectWithLock(et time.Duration) {
	panic("unported: feature 2693")
}

func (n *raft) run() {
	panic("unported: feature 2694")
}

func (n *raft) debug(format string, args ...any) {
	panic("unported: feature 2695")
}

func (n *raft) warn(format string, args ...any) {
	panic("unported: feature 2696")
}

func (n *raft) error(format string, args ...any) {
	panic("unported: feature 2697")
}

func (n *raft) electTimer() *time.Timer {
	panic("unported: feature 2698")
}

func (n *raft) IsObserver() bool {
	panic("unported: feature 2699")
}

func (n *raft) SetObserver(isObserver bool) {
	panic("unported: feature 2700")
}

func (n *raft) setObserver(isObserver bool, extSt extensionState) {
	panic("unported: feature 2701")
}

func (n *raft) setObserverLocked(isObserver bool, extSt extensionState) {
	panic("unported: feature 2702")
}

func (n *raft) processAppendEntries() {
	panic("unported: feature 2703")
}

func (n *raft) runAsFollower() {
	panic("unported: feature 2704")
}
