package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

func (n *raft) handleForwardedRemovePeerProposal(sub transport.Subscription, _, reply string, msg []byte) {
	panic("unported: feature 2720")
}

func (n *raft) handleForwardedProposal(sub transport.Subscription, _, reply string, msg []byte) {
	panic("unported: feature 2721")
}

func (n *raft) addPeer(peer string) {
	panic("unported: feature 2722")
}

func (n *raft) removePeer(peer string) {
	panic("unported: feature 2723")
}

func (n *raft) sendMembershipChange(e *Entry) bool {
	panic("unported: feature 2724")
}
