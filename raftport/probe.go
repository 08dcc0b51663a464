package raftport

// Probe is the one deliberate window into a node for deterministic tests:
// the ported reference tests drive the protocol step by step (deliver this
// append entry, switch to leader now) and read its counters, which a
// black-box API cannot offer. Nothing in normal operation uses it.
//
// Every Probe method takes the node lock itself unless its name ends in
// Locked; tests that need several steps under one lock call Lock/Unlock.
type Probe struct {
	n *raft
}

// NewProbe returns the probe of a node created by this package. It panics
// on any other RaftNode, which can only be a programming error in a test.
func NewProbe(node RaftNode) *Probe {
	n, ok := node.(*raft)
	if !ok {
		panic("raftport: NewProbe needs a node started by raftport")
	}
	return &Probe{n: n}
}

// Lock takes the node lock, as the reference tests do around multi-step
// changes.
func (p *Probe) Lock() { p.n.Lock() }

// Unlock releases the node lock.
func (p *Probe) Unlock() { p.n.Unlock() }

// locked runs change under the node's write lock, as the node's own code
// changes its state; the probe's setters are one change each.
func (p *Probe) locked(change func()) {
	p.n.Lock()
	defer p.n.Unlock()
	change()
}
