// Package transport carries a raftport node's messages. A node speaks in
// subjects and reply subjects, as the NATS server's Raft does, so the same
// node code runs in-process and over a real NATS deployment.
package transport

import "errors"

// ErrClosed is returned by every call on a closed connection.
var ErrClosed = errors.New("transport: closed")

// Handler receives one message. Handlers of one subscription are called
// one at a time, in arrival order.
//
// data is read-only: a transport may hand the same bytes to every
// receiver of a message (the in-process Network does, so that a message
// to n subscribers costs one copy rather than n), so a handler that wrote
// into data, or into a slice of it, would change what the others see.
// A handler may keep data, or slices of it, for as long as it likes: the
// transport never reuses it.
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
	// empty, is where the receiver should answer. The caller may reuse
	// data once Publish returns.
	Publish(subject, reply string, data []byte) error
	Subscribe(subject string, h Handler) (Subscription, error)
	// NewInbox returns a fresh, unique subject for replies.
	NewInbox() string
	Close() error
}

// OwningConn is a Conn that can take over the caller's buffer instead of
// copying it (the in-process Network).
type OwningConn interface {
	// PublishOwned is Publish for a caller that never writes to data
	// again: receivers may get data itself.
	PublishOwned(subject, reply string, data []byte) error
}
