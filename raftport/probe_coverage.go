package raftport

// Probe steps for node internals that no public call reaches on demand:
// the successor guess a leader makes when its own log fails it, and the
// peer state a node would persist or send.

// SelectNextLeader returns the peer a leader would hand leadership to if
// its log failed now: the one that stored the most of the log, never the
// node itself; "" when no other peer stored anything.
func (p *Probe) SelectNextLeader() string {
	p.n.RLock()
	defer p.n.RUnlock()
	return p.n.selectNextLeader()
}

// PeerStateView is a node's peer state as it would persist or send it.
type PeerStateView struct {
	KnownPeers  []string
	ClusterSize int
}

// CurrentPeerState reads the node's peer state the way the reference
// tests do, taking the lock itself.
func (p *Probe) CurrentPeerState() PeerStateView {
	ps := p.n.currentPeerState()
	return PeerStateView{KnownPeers: ps.knownPeers, ClusterSize: ps.clusterSize}
}
