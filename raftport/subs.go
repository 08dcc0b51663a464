package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

func (n *raft) newCatchupInbox() string {
	panic("unported: feature 2684")
}

func (n *raft) newInbox() string {
	panic("unported: feature 2685")
}

func (n *raft) subscribe(subject string, cb msgHandler) (transport.Subscription, error) {
	panic("unported: feature 2686")
}

func (n *raft) unsubscribe(sub transport.Subscription) {
	panic("unported: feature 2687")
}

func (n *raft) createInternalSubs() error {
	panic("unported: feature 2688")
}

func (n *raft) sendRPC(subject, reply string, msg []byte) {
	panic("unported: feature 2787")
}

func (n *raft) sendReply(subject string, msg []byte) {
	panic("unported: feature 2788")
}
