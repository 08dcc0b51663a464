package raftport

func (n *raft) peerNames() []string {
	panic("unported: feature 2765")
}

func (n *raft) currentPeerState() *peerState {
	panic("unported: feature 2766")
}

func (n *raft) currentPeerStateLocked() *peerState {
	panic("unported: feature 2767")
}

func (n *raft) sendPeerState() {
	panic("unported: feature 2768")
}

func (n *raft) sendHeartbeat() {
	panic("unported: feature 2769")
}
