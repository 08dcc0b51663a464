package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// newCatchupInbox returns a fresh "$NRG.CR.<suffix>" inbox, where a leader
// streams a catchup to this node.
// The caller holds the node lock.
func (n *raft) newCatchupInbox() string {
	return transport.NewCatchupInbox(n.conn)
}

// newInbox returns a fresh "$NRG.R.<suffix>" reply inbox.
// The caller holds the node lock.
func (n *raft) newInbox() string {
	return n.conn.NewInbox()
}

// subscribe listens on subject and hands cb the subscription along with
// each message, so a handler can tell a catchup stream from live traffic.
// The caller holds the node lock.
func (n *raft) subscribe(subject string, cb msgHandler) (transport.Subscription, error) {
	if n.conn == nil {
		return nil, errNoInternalClient
	}
	// The transport may deliver before Subscribe has returned the
	// subscription; ready holds such a message until it is known.
	var sub transport.Subscription
	ready := make(chan struct{})
	s, err := n.conn.Subscribe(subject, func(subj, reply string, data []byte) {
		<-ready
		cb(sub, subj, reply, data)
	})
	sub = s
	close(ready)
	if err != nil {
		return nil, err
	}
	n.subs = append(n.subs, sub)
	return sub, nil
}

// unsubscribe ends one subscription of this node.
// The caller holds the node lock.
func (n *raft) unsubscribe(sub transport.Subscription) {
	if sub == nil {
		return
	}
	for i, s := range n.subs {
		if s == sub {
			n.subs = append(n.subs[:i], n.subs[i+1:]...)
			break
		}
	}
	if err := sub.Unsubscribe(); err != nil && n.conn != nil {
		n.debug("Unsubscribe from %q failed: %v", sub.Subject(), err)
	}
}

// createInternalSubs listens for votes and append entries of the group and
// for the replies to our own requests. Proposals are subscribed to only
// while leading.
// The caller holds the node lock.
func (n *raft) createInternalSubs() error {
	n.psubj, n.rpsubj = transport.ProposeSubject(n.group), transport.RemovePeerSubject(n.group)
	n.vsubj, n.asubj = transport.VoteSubject(n.group), transport.AppendSubject(n.group)
	n.vreply, n.areply = n.newInbox(), n.newInbox()
	listeners := []struct {
		subject string
		handle  msgHandler
		keep    *transport.Subscription // where the subscription is kept, if anywhere
	}{
		{n.vreply, n.handleVoteResponse, nil},
		{n.vsubj, n.handleVoteRequest, nil},
		{n.areply, n.handleAppendEntryResponse, nil},
		{n.asubj, n.handleAppendEntry, &n.aesub},
	}
	for _, l := range listeners {
		sub, err := n.subscribe(l.subject, l.handle)
		if err != nil {
			return err
		}
		if l.keep != nil {
			*l.keep = sub
		}
	}
	return nil
}

// releaseTransport ends every subscription of this node. The connection
// belongs to the host and other groups may share it, so it stays open.
// The caller holds the node lock.
func (n *raft) releaseTransport() {
	for _, sub := range append([]transport.Subscription(nil), n.subs...) {
		n.unsubscribe(sub)
	}
	n.subs = nil
	n.aesub = nil
	n.conn = nil
	n.sendConn.Store(nil)
}

// sendRPC publishes a request; answers come to reply. Sends are fire and
// forget as in the reference: Raft recovers lost messages by retrying.
// It is called with and without the lock, hence sendConn.
func (n *raft) sendRPC(subject, reply string, msg []byte) {
	n.publish(subject, reply, msg)
}

// sendReply answers a request; no answer is expected back.
func (n *raft) sendReply(subject string, msg []byte) {
	n.publish(subject, "", msg)
}

func (n *raft) publish(subject, reply string, msg []byte) {
	n.publishMsg(subject, reply, msg, false)
}

// sendOwned is sendRPC for a message nobody writes to once sent (an append
// entry's encoding, which the logs keep as it is): a connection that can
// hands it to the receivers without a copy.
func (n *raft) sendOwned(subject, reply string, msg []byte) {
	n.publishMsg(subject, reply, msg, true)
}

func (n *raft) publishMsg(subject, reply string, msg []byte, owned bool) {
	c := n.sendConn.Load()
	if c == nil || subject == "" {
		return
	}
	var err error
	if oc, ok := (*c).(transport.OwningConn); ok && owned {
		err = oc.PublishOwned(subject, reply, msg)
	} else {
		err = (*c).Publish(subject, reply, msg)
	}
	if err != nil {
		n.debug("Publish to %q failed: %v", subject, err)
	}
}
