package faults

import (
	"github.com/porttrack-dev/porttrack/internal/raftprobe"
	"github.com/porttrack-dev/porttrack/raftport"
)

// pauseNode freezes a node's goroutines as a stopped process would be
// frozen: it takes the node's lock, so the run loop, the timers' handlers
// and every call into the node wait until resume. This is the suite's only
// use of the test window (internal/raftprobe), which is not part of
// raftport's users' API; a node-level Pause there, or a transport-level
// hold of the node's traffic, would replace it.
func pauseNode(n raftport.RaftNode) (resume func()) {
	w := raftprobe.Of[raftport.Entry, raftport.RaftState](n)
	w.Lock()
	return w.Unlock
}
