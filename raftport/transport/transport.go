// Package transport carries a raftport node's messages. A node speaks in
// subjects and reply subjects, as the NATS server's Raft does, so the same
// node code runs in-process and over a real NATS deployment.
package transport

import "errors"

// ErrClosed is returned by every call on a closed connection.
var ErrClosed = errors.New("transport: closed")

// Handler receives one message. data is the handler's to keep. Handlers of
// one subscription are called one at a time, in arrival order.
type Handler func(subject, reply string, data []byte)

// Subscription is a live interest in one subject (no wildcards needed by
// the node, but "*" and ">" tokens are honoured).
type Subscription interface {
	Subject() string
	Unsubscribe() error
}

// Conn is one node's endpoint.
type Conn interface {
	// Publish sends data to every subscriber of subject; reply, when not
	// empty, is where the receiver should answer.
	Publish(subject, reply string, data []byte) error
	Subscribe(subject string, h Handler) (Subscription, error)
	// NewInbox returns a fresh, unique subject for replies.
	NewInbox() string
	Close() error
}
