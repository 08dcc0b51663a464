package faults

import "github.com/porttrack-dev/porttrack/raftport"

// pauseNode freezes a node's goroutines as a stopped process would be
// frozen: it takes the node's lock, so the run loop, the timers' handlers
// and every call into the node wait until resume. This is the suite's only
// use of raftport.Probe, the test window that is leaving raftport's public
// API; a node-level Pause there, or a transport-level hold of the node's
// traffic, would replace it.
func pauseNode(n raftport.RaftNode) (resume func()) {
	p := raftport.NewProbe(n)
	p.Lock()
	return p.Unlock
}
